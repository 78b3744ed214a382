"""Data sets: folder-per-class and JAFFE folders, label aliases, subject ids, several sets as one."""

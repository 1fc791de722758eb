"""What people use: the command line, the Python API, `claims show`."""

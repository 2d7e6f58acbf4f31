"""The `sohoa` command line: a service layer over pipeline/, watch_folders/, index/ (nothing imports it)."""

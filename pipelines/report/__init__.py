"""Reading the report text for `kb extract`: lines (`lines`) → blocks with section, page and kind
(`blocks`) → the parsed report (`parse`), and which case each block speaks about (`attribution`)."""

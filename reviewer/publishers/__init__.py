"""Where results go: the terminal, JSON, Markdown, and GitHub."""

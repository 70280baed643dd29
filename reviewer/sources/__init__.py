"""Where a diff comes from: the local git checkout, or a GitHub pull request."""

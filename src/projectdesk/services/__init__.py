"""Services the window and the CLI share: project operations over a repository. No Qt here."""

"""Model versions, aliases, deployment history and safe persistence (book ch. 2, "Launch")."""

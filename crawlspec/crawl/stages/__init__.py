"""One module per enrichment stage: comments, creators (user info), playlists, user_lists (user-centred crawls)."""

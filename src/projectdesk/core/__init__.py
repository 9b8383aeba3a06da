"""Pure logic with no I/O: models, key layout, slugs, MIME types, tech stack, ignore rules, limits."""

"""Settings: where files live, and the profiles (stores) a person has set up. Secrets never live here."""

"""Repositories: the S3 store (boto3) and the local-folder store, behind one interface. No Qt here."""

"""The Qt window. Talks to services/ only: never to boto3."""

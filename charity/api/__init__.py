"""The REST API under /api/v1/ (Django REST framework). Views parse, call one service, shape the output."""

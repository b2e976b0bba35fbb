"""Server-rendered pages: the public disclosure, the donor portal and the auditor's page."""

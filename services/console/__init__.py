"""The staff console: a backend-for-frontend that serves pages and calls the services' APIs with
the signed-in person's token. It owns no domain data (docs/console.md)."""

"""Running crmkit in production: monitoring and logging settings, backups (docs/deployment.md)."""

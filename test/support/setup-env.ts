// Quiet logs in tests unless asked for; set before any app module is imported.
process.env.LOG_LEVEL ??= 'warn';

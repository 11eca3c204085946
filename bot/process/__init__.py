"""The long-lived process: side-effect objects, the scheduler and its jobs, the run lock, database health."""

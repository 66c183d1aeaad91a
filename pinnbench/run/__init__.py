"""Running suites: suite files, run specs, worker processes, executors and the results store."""

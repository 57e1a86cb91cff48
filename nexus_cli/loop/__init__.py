"""The agent loop: run an agent on a task until its gates pass, then move to the next one."""

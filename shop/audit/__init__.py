"""The operators' audit log: who did what to which object, when, with the values before and after."""

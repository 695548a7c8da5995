"""The contract VM: checker (allow-list), compiler (to instrumented Python), metered helpers."""

import os

# Tests must not depend on the machine's load: one FFT thread everywhere.
os.environ.setdefault("REFSOLVERS_THREADS", "1")

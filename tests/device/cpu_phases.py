import time
print("__SPIN__", flush=True)
t = time.time()
x = 0
while time.time() - t < 2:
    x += 1
print("__SLEEP__", flush=True)
time.sleep(2)
print("__DONE__", flush=True)

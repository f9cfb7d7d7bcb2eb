# GPU workload with phases; reads NVML's own energy counter at each token as an independent truth.
import json, os, time
import pynvml, torch
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
truth = []
def mark(token):
    truth.append({"token": token, "mj": pynvml.nvmlDeviceGetTotalEnergyConsumption(h), "t": time.monotonic()})
    print(token, flush=True)
mark("__IDLE__")
time.sleep(2)
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn_like(a)
torch.cuda.synchronize()
mark("__MATMUL__")
t = time.time()
while time.time() - t < 4:
    for _ in range(20):
        c = a @ b
    torch.cuda.synchronize()
mark("__COOL__")
time.sleep(2)
mark("__DONE__")
with open(os.path.join(os.environ.get("OUT", "/tmp"), "gpu_truth.json"), "w") as f:
    json.dump(truth, f)

# Writes the seed corpus of tests/fuzz/npy.c into tests/fuzz/npy/ (run
# from the top of the tree with /usr/bin/python3; NumPy writes the arrays)
import io, struct, numpy as np

def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()

def npz(compressed, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()

def pair(name, flags, x, y):
    xb, yb = npy(x), npy(y)
    open('tests/fuzz/npy/' + name, 'wb').write(bytes([flags]) + struct.pack('>H', len(xb)) + xb + yb)

def archive(name, flags, data):
    open('tests/fuzz/npy/' + name, 'wb').write(bytes([flags | 16, 0, 0]) + data)

x = np.arange(20, dtype=np.uint8).reshape(5, 2, 2)
y = np.array([2, 0, 1, 1, 0], dtype=np.int64)
pair('pair-u1-i8', 0, x, y)
pair('pair-f4-flat', 1, np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4), y.astype(np.int32))
pair('pair-f8-targets', 1 | 32 | 8, np.ones((2, 4)), np.zeros((2, 10)))
pair('pair-fortran', 1, np.asfortranarray(np.ones((3, 4), np.float32)), y[:3])
pair('pair-big-endian', 1, np.ones((3, 4), '>f4'), y[:3])
archive('npz-stored', 0, npz(False, x_train=x, y_train=y, x_test=x[:2], y_test=y[:2]))
archive('npz-deflated', 128, npz(True, x_train=x, y_train=y, x_test=x[:2], y_test=y[:2]))
archive('npz-regression', 1 | 32, npz(True, x=np.ones((3, 4), np.float32), y=np.ones((3, 3))))

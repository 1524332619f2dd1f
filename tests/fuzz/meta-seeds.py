# Writes the seed corpus of tests/fuzz/meta.c into tests/fuzz/meta/ (run
# from the top of the tree): data metas in the layout of runtime/data_meta.c
import struct

def u32(v):
    return struct.pack('<I', v)

def name(s):
    return u32(0xffffffff) if s is None else u32(len(s)) + s.encode()

def meta(classes=(), label=None, n_targets=0, targets=None, mean=(), std=()):
    b = b'NNDM' + u32(1) + u32(len(classes)) + b''.join(name(c) for c in classes) + name(label)
    b += u32(n_targets) + u32(targets is not None)
    b += b''.join(name(t) for t in targets or ())
    b += u32(len(mean)) + struct.pack('<%df' % len(mean), *mean)
    return b + struct.pack('<%df' % len(std), *std)

seeds = {
    'empty': meta(),
    'classes': meta(('setosa', 'versicolor', 'virginica'), 'species'),
    'targets-stats': meta(n_targets=2, targets=('price', 'rooms'), mean=(0.5, -3), std=(1, 0.25)),
    'unnamed-targets': meta(n_targets=1),
}
for file, data in seeds.items():
    open('tests/fuzz/meta/' + file, 'wb').write(data)

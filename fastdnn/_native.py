"""Native functions called by address from compiled code.

Compiled code reaches C functions it does not link against (the BLAS libraries, the
activation loops of :mod:`fastdnn.kernels._jit_entries`) through their addresses, held in int64
arrays and called with :func:`ccall`:

* an address is a runtime value, so Numba's on-disk cache does not depend on where a library
  was loaded in the process that compiled it;
* an int64 array costs nothing to pass in: a first-class function object (a ctypes function
  or a ``cfunc``) is typed anew at every call from Python, about 2 µs each (a bundle of the
  six BLAS functions cost 14 µs per call, more than a whole step of the planar net);
* one compiled caller serves every function of one C signature: the training loop compiles
  once, whichever activation a network uses.

The C signature of a call is the types of the values passed: write them as the C function
declares them (``np.int32`` for a C ``int``, ``np.int64`` for ``int64_t``, ``np.float32`` for
``float``, :func:`data_pointer` for a pointer). A wrong type is undefined behaviour, as in C;
keep each C signature in one place.

Under ``NUMBA_DISABLE_JIT=1`` the same calls run through ctypes, and :func:`cfunc` makes ctypes
callbacks, so the Python path runs the same code.
"""

from __future__ import annotations

import ctypes

import numpy as np

from ._numba import JIT_DISABLED


def _ccall_python(address, args) -> None:
    """``ccall`` as plain Python (``NUMBA_DISABLE_JIT``): ctypes, with the C types read from
    the values' types."""
    argtypes = [_ctype_of(value) for value in args]
    ctypes.CFUNCTYPE(None, *argtypes)(int(address))(*args)


def _ctype_of(value):
    if isinstance(value, ctypes.c_void_p):
        return ctypes.c_void_p
    for numpy_type, ctype in _CTYPES:
        if isinstance(value, numpy_type):
            return ctype
    raise TypeError(f"ccall: no C type for {type(value).__name__} (pass a NumPy scalar)")


# float is Python's float: a C double, as Numba types it.
_CTYPES = (
    (np.int32, ctypes.c_int32),
    (np.int64, ctypes.c_int64),
    (np.float32, ctypes.c_float),
    ((np.float64, float), ctypes.c_double),
)


def _data_pointer_python(array) -> ctypes.c_void_p:
    return ctypes.c_void_p(array.ctypes.data)


if JIT_DISABLED:
    ccall = _ccall_python
    data_pointer = _data_pointer_python
else:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def ccall(typingctx, address, args):
        """``ccall(address, args)``: call the ``void`` C function at ``address`` (an integer)
        with the values of the tuple ``args``, whose types give the C signature."""
        if not isinstance(address, types.Integer) or not isinstance(args, types.BaseTuple):
            return None

        def codegen(context, builder, signature, llargs):
            addr, values = llargs
            arg_types = [context.get_value_type(t) for t in args]
            fnty = ir.FunctionType(ir.VoidType(), arg_types)
            function = builder.inttoptr(addr, fnty.as_pointer())
            builder.call(function, [builder.extract_value(values, i) for i in range(len(args))])
            return context.get_dummy_value()

        return types.void(address, args), codegen

    @intrinsic
    def data_pointer(typingctx, array):
        """``data_pointer(array)``: the address of the array's first element, as a C
        ``void *``."""
        if not isinstance(array, types.Array):
            return None

        def codegen(context, builder, signature, llargs):
            data = context.make_array(array)(context, builder, llargs[0]).data
            return builder.bitcast(data, context.get_value_type(types.voidptr))

        return types.voidptr(array), codegen

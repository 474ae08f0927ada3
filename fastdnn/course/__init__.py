"""The course's own API: Course 1's programming assignments, function for function.

Same names, arguments, defaults, return values, caches and random draws (NumPy's legacy global
RNG, seeded where the course seeds) as the current assignments, so a learner's seeded exercise
reproduces the course's published numbers:

* :mod:`fastdnn.course.logistic`: week 2, "Logistic Regression with a Neural Network mindset".
* :mod:`fastdnn.course.shallow`: week 3, "Planar data classification with one hidden layer".
* :mod:`fastdnn.course.deep`: week 4, "Building your Deep Neural Network: Step by Step" and
  "Deep Neural Network - Application"; its matrix products can run on fastdnn's kernels
  (``backend="jit"``).

Examples
--------
>>> from fastdnn.course import deep
>>> print(deep.initialize_parameters_deep([5, 4, 3])["W1"][0, :2])  # the course's W1[0, :2]
[0.01788628 0.0043651 ]
"""

from . import deep, logistic, shallow

__all__ = ["deep", "logistic", "shallow"]

"""reader — reading numbers of up to five characters from 28 x 140 strips.

The only package that joins ``nn`` (the network library) and ``data`` (the
datasets and the strip generator):

* ``models``     the notebook's per-slot tower and the whole-strip model, and their outputs
* ``losses``     the sum of per-head cross-entropies each model is trained with
* ``decode``     most likely length, then that many characters; confidence of the reading
* ``metrics``    sequence, per-character, per-length and length accuracy, confusion
* ``tasks``      which dataset and alphabet; training batches and fixed test strips
* ``training``   the training loop, checkpoints and exact resuming, the run folder
* ``evaluate``   run a reader over strips; the metadata a model file carries
* ``preprocess`` any image Pillow reads -> the model's 28 x 140 input
* ``plots``, ``progress``, ``cli``, ``docfigures``: pictures, progress bar, CLI helpers

``train.py`` and ``predict.py`` in the repository root are thin command lines
over these modules; docs/strips.md explains the models.
"""

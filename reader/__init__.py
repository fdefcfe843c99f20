"""reader — reading numbers of up to five characters: 28 x 140 strips and SVHN house numbers.

The only package that joins ``nn`` (the network library) and ``data`` (the
datasets and the strip generator):

* ``models``     the notebook's per-slot tower and the whole-strip model, and their outputs
* ``losses``     the sum of per-head cross-entropies each model is trained with
* ``decode``     most likely length, then that many characters; confidence of the reading
* ``metrics``    sequence, per-character, per-length and length accuracy, confusion
* ``tasks``      which dataset and alphabet; training batches and fixed test strips
* ``training``   the training loop, checkpoints and exact resuming, the run folder; it runs a
                 *job*: ``strip_job`` (strips) or ``svhn_job`` (house numbers, single digits)
* ``svhn_models`` the house-number reader (length, digit and box heads) and digit classifier
* ``svhn_data``  SVHN protocols (which images train and test) and training batches
* ``svhn_read``  reading with those models: windows, views, decoding, measures (no training)
* ``locate``     find the number in a photo with the box head, coarse to fine, and read it;
                 with ``choose`` (the vote), ``stacked`` (a column of digits) and
                 ``photo_crops`` (cutting a photo as training crops were cut)
* ``views``      reading several views of an input and averaging them
* ``evaluate``   run a reader over strips; the metadata a model file carries
* ``preprocess`` any image Pillow reads -> RGB (``open_photo``) or the 28 x 140 strip input
* ``plots``, ``progress``, ``cli``, ``docfigures``: pictures, progress bar, CLI helpers
* commands (``python -m reader.NAME``): ``ship`` (a run's model in float16),
  ``strips_eval`` and ``svhn_eval`` (a model on its test or validation set),
  ``hard_negatives`` (the photo search's mistakes, to train on)

``train.py`` and ``predict.py`` in the repository root are thin command lines
over these modules; docs/strips.md and docs/svhn.md explain the models.
"""

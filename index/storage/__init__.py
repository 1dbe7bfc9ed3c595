"""Index versions on disk: each build written into its own folder, checked, then published by
atomically replacing the ``CURRENT`` pointer; and the immutable row segments that versions
share."""

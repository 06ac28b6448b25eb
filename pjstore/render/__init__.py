"""The render core: bytes + recipe -> rendition, knowing no storage and no record.

decode -> colour -> scale -> restore -> orient -> encode, one small module per step reading the
scale's recipe (`pjstore.rendition.recipe`); `pipeline.make_rendition` runs them in that order and
is the only code that makes a rendition: the serving path (`pjstore.read_path`) and the write
path's recipe search (`pjstore.rendition.choose`) both stand on it.
"""

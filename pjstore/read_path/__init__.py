"""The read path: request -> select scale -> read prefix -> decode -> scale -> orient -> encode.

Each step is one small module reading the scale's recipe (`pjstore.rendition.recipe`);
`pipeline.render` runs them in that order, and `pipeline.make_rendition` is the only code that makes
a rendition (the write path's recipe search runs it too).
"""

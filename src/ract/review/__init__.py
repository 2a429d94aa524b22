"""``ract review``: a local web page to decide on each flagged label, saved as you go, exported as a data file.

- :mod:`ract.review.session`: the flagged rows and the decisions (resumable);
- :mod:`ract.review.decisions`: the progress file ``review_decisions.csv``;
- :mod:`ract.review.export`: the reviewed data set, in the input's format;
- :mod:`ract.review.app`: the Flask app (templates/ and static/ beside it).
"""

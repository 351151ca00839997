"""Import nomination forms from spreadsheets (Microsoft Forms, Google Forms, hand-made Excel).

- :mod:`~workbench.intake.reading`: stream rows from .xlsx/.xlsm and .csv, header found and cleaned;
- :mod:`~workbench.intake.mapping`: match columns to the rubric's questions and nominee fields;
- :mod:`~workbench.intake.validation`: report every problem at once, row by row;
- :mod:`~workbench.intake.importing`: ``preview`` and ``import_nominations``, the services;
- :mod:`~workbench.intake.app`: the notebook view (``notebooks/import.ipynb``).
"""

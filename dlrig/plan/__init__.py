"""The declared build: the inventory read (``inventory``), validated (``parse``) into the data model
(``model``) with the catalogue's figures (``catalogue``, ``typical``) filling in what it leaves out."""

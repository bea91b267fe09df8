"""The formats perfxl reads and writes: any file as rows of cells, our locked template
(its spec, writer and reader), the published table, the structured workbook, JSON, the
roster, and how a file's kind is told."""

-- Stage 1, lookup: one row per key of each reference table. When a key appears twice, the first row in
-- source order wins (rule 2); `copies` tells how many rows shared the key, for the duplicates report.
-- (A grouped MIN(_src_ord) joined back is much faster than a window over every key.)

CREATE VIEW customer_first AS
SELECT c.CustNo, c.latitude, c.longitude, c.address3, f.copies
FROM customer AS c
JOIN (
  SELECT CustNo, MIN(_src_ord) AS first_ord, COUNT(*) AS copies
  FROM customer
  WHERE CustNo IS NOT NULL
  GROUP BY CustNo
) AS f ON c._src_ord = f.first_ord;

CREATE VIEW prospect_first AS
SELECT p.tdlinx, p.latitude, p.longitude, p.barangay_code, p.store_name_nielsen, f.copies
FROM prospective AS p
JOIN (
  SELECT tdlinx, MIN(_src_ord) AS first_ord, COUNT(*) AS copies
  FROM prospective
  WHERE tdlinx IS NOT NULL
  GROUP BY tdlinx
) AS f ON p._src_ord = f.first_ord;

CREATE VIEW distributor_first AS
SELECT d.DistributorID, d.Latitude, d.Longitude, d.Name, d.Address, f.copies
FROM distributors AS d
JOIN (
  SELECT DistributorID, MIN(_src_ord) AS first_ord, COUNT(*) AS copies
  FROM distributors
  WHERE DistributorID IS NOT NULL
  GROUP BY DistributorID
) AS f ON d._src_ord = f.first_ord;

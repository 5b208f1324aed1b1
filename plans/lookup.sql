-- Stage 1, lookup: one row per key of each reference table. When a key appears twice, the first row in
-- source order wins (rule 2); `copies` tells how many rows shared the key, for the duplicates report.

CREATE VIEW customer_first AS
SELECT CustNo, latitude, longitude, address3, copies
FROM (
  SELECT CustNo, latitude, longitude, address3,
         ROW_NUMBER() OVER (PARTITION BY CustNo ORDER BY _src_ord) AS copy_no,
         COUNT(*) OVER (PARTITION BY CustNo) AS copies
  FROM customer
  WHERE CustNo IS NOT NULL
) AS c
WHERE copy_no = 1;

CREATE VIEW prospect_first AS
SELECT tdlinx, latitude, longitude, barangay_code, store_name_nielsen, copies
FROM (
  SELECT tdlinx, latitude, longitude, barangay_code, store_name_nielsen,
         ROW_NUMBER() OVER (PARTITION BY tdlinx ORDER BY _src_ord) AS copy_no,
         COUNT(*) OVER (PARTITION BY tdlinx) AS copies
  FROM prospective
  WHERE tdlinx IS NOT NULL
) AS p
WHERE copy_no = 1;

CREATE VIEW distributor_first AS
SELECT DistributorID, Latitude, Longitude, Name, Address, copies
FROM (
  SELECT DistributorID, Latitude, Longitude, Name, Address,
         ROW_NUMBER() OVER (PARTITION BY DistributorID ORDER BY _src_ord) AS copy_no,
         COUNT(*) OVER (PARTITION BY DistributorID) AS copies
  FROM distributors
  WHERE DistributorID IS NOT NULL
) AS d
WHERE copy_no = 1;

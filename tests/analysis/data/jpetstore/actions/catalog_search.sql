SELECT PRODUCTID, NAME, DESCN AS description, CATEGORY AS categoryId FROM PRODUCT WHERE lower(name) like #{keywords};

SELECT name, nextid FROM SEQUENCE WHERE NAME = #{name};
UPDATE SEQUENCE SET NEXTID = #{nextId} WHERE NAME = #{name};
UPDATE INVENTORY SET QTY = QTY - #{increment} WHERE ITEMID = #{itemId};
INSERT INTO ORDERS (ORDERID, USERID, ORDERDATE, SHIPADDR1, SHIPCITY, TOTALPRICE, CREDITCARD, CARDTYPE) VALUES (#{orderId}, #{username}, #{orderDate}, #{shipAddress1}, #{shipCity}, #{totalPrice}, #{creditCard}, #{cardType});
INSERT INTO ORDERSTATUS (ORDERID, LINENUM, TIMESTAMP, STATUS) VALUES (#{orderId,jdbcType=NUMERIC}, #{orderId,jdbcType=NUMERIC}, #{orderDate}, #{status});
INSERT INTO LINEITEM (ORDERID, LINENUM, ITEMID, QUANTITY, UNITPRICE) VALUES (#{orderId}, #{lineNumber}, #{itemId}, #{quantity}, #{unitPrice});

-- Modelled on the JPetStore 6 HSQLDB schema (our own text, same tables and keys).
create table supplier (suppid int not null, name varchar(80) null, status varchar(2) not null, addr1 varchar(80) null, city varchar(80) null, constraint pk_supplier primary key (suppid));
create table signon (username varchar(25) not null, password varchar(25) not null, constraint pk_signon primary key (username));
create table account (userid varchar(80) not null, email varchar(80) not null, firstname varchar(80) not null, lastname varchar(80) not null, status varchar(2) null, addr1 varchar(80) not null, city varchar(80) not null, country varchar(20) not null, phone varchar(80) not null, constraint pk_account primary key (userid));
create table profile (userid varchar(80) not null, langpref varchar(80) not null, favcategory varchar(30), mylistopt int, banneropt int, constraint pk_profile primary key (userid));
create table bannerdata (favcategory varchar(80) not null, bannername varchar(255) null, constraint pk_bannerdata primary key (favcategory));
create table orders (orderid int not null, userid varchar(80) not null, orderdate date not null, shipaddr1 varchar(80) not null, shipcity varchar(80) not null, totalprice decimal(10,2) not null, creditcard varchar(80) not null, cardtype varchar(80) not null, constraint pk_orders primary key (orderid));
create table orderstatus (orderid int not null, linenum int not null, timestamp date not null, status varchar(2) not null, constraint pk_orderstatus primary key (orderid, linenum));
create table lineitem (orderid int not null, linenum int not null, itemid varchar(10) not null, quantity int not null, unitprice decimal(10,2) not null, constraint pk_lineitem primary key (orderid, linenum));
create table category (catid varchar(10) not null, name varchar(80) null, descn varchar(255) null, constraint pk_category primary key (catid));
create table product (productid varchar(10) not null, category varchar(10) not null, name varchar(80) null, descn varchar(255) null, constraint pk_product primary key (productid), constraint fk_product_1 foreign key (category) references category (catid));
create table item (itemid varchar(10) not null, productid varchar(10) not null, listprice decimal(10,2) null, unitcost decimal(10,2) null, supplier int null, status varchar(2) null, attr1 varchar(80) null, constraint pk_item primary key (itemid), constraint fk_item_1 foreign key (productid) references product (productid), constraint fk_item_2 foreign key (supplier) references supplier (suppid));
create table inventory (itemid varchar(10) not null, qty int not null, constraint pk_inventory primary key (itemid));
create table sequence (name varchar(30) not null, nextid int not null, constraint pk_sequence primary key (name));

mod scim;

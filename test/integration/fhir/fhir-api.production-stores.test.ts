// The FHIR read API over the production stores: InfluxDB readings (Debian's influxd) and a PostgreSQL
// clinical database.
import { describeWithServer } from '../../support/servers.js';
import { productionStores, productionStoresUnavailable } from '../../support/production-stores.js';
import { fhirApiSuite } from './fhir-api.suite.js';

describeWithServer('InfluxDB and PostgreSQL', await productionStoresUnavailable())('FHIR R4 read API on InfluxDB and PostgreSQL', () => {
  fhirApiSuite(productionStores('rpm_fhir'));
});

import { Link, useNavigate } from 'react-router';
import { unwrap } from '../api/client';
import { IntegrationForm } from '../components/IntegrationForm';
import { api } from '../session';

export function NewIntegration() {
  const navigate = useNavigate();
  return (
    <>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to="/">Global Integrations</Link> › New
      </nav>
      <h1>Add Custom Integration</h1>
      <p className="lead">A custom global integration may act on the data of all merchants. Give it a name people recognise.</p>
      <IntegrationForm
        submitLabel="Save and Continue"
        onSubmit={async (values) => {
          const created = await unwrap(api.POST('/api/v1/integrations', { body: values }));
          navigate(`/integrations/${created.id}`);
        }}
      />
    </>
  );
}

from tests.crm.pipedrive.conftest import fake_pipedrive, install, pipedrive_jwt  # noqa: F401

using System.Text;

namespace Airlock.Inspection.Tests.Rules;

/// <summary>One example text for one rule: a true positive carries the span the rule must report.</summary>
/// <param name="RuleId">The rule under test.</param>
/// <param name="Text">The scanned text (code, config, log line, prose).</param>
/// <param name="Start">Where the secret starts in <paramref name="Text"/>; -1 for a false positive.</param>
/// <param name="Length">Length of the secret; 0 for a false positive.</param>
internal sealed record RuleExample(string RuleId, string Text, int Start, int Length);

/// <summary>
/// Per-rule true positives (in realistic context) and false positives (placeholders, documentation keys,
/// wrong checksums, truncated tokens, look-alikes). Every token is synthesized by <see cref="FakeTokens"/>;
/// none is real. In templates, <c>{T}</c> marks where the token goes and is the span the rule must report.
/// </summary>
internal static class RuleExamples
{
    private const string Placeholder = "{T}";

    private static readonly Lazy<(List<RuleExample> Positives, List<RuleExample> Negatives)> s_all = new(Build);

    public static IReadOnlyList<RuleExample> TruePositives => s_all.Value.Positives;

    public static IReadOnlyList<RuleExample> FalsePositives => s_all.Value.Negatives;

    private static (List<RuleExample>, List<RuleExample>) Build()
    {
        var b = new Builder();
        Aws(b);
        Google(b);
        Azure(b);
        OtherClouds(b);
        CodeHosts(b);
        AiProviders(b);
        Payments(b);
        Chat(b);
        PrivateKeys(b);
        StructuredTokens(b);
        Databases(b);
        Registries(b);
        SecretManagers(b);
        Saas(b);
        Generic(b);
        return (b.Positives, b.Negatives);
    }

    private static void Aws(Builder b)
    {
        var f = FakeTokens.For("aws");
        var keyId = "AKIA" + f.Chars(FakeTokens.Base32Upper, 16);
        b.Tp("aws-access-key-id", "[default]\naws_access_key_id = {T}\nregion = eu-west-1\n", keyId);
        b.Tp("aws-access-key-id", "{\n  \"Credentials\": {\n    \"AccessKeyId\": \"{T}\",\n    \"Expiration\": \"2026-11-24T12:00:00Z\"\n  }\n}", "ASIA" + f.Chars(FakeTokens.Base32Upper, 16));
        b.Fp("aws-access-key-id", "See the docs: export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE before running the sample.");
        b.Fp("aws-access-key-id", "aws_access_key_id = AKIA" + f.Chars(FakeTokens.Base32Upper, 15) + "\n");

        var secret = f.B64Of(40);
        b.Tp("aws-secret-access-key", "[default]\naws_access_key_id = " + keyId + "\naws_secret_access_key = {T}\n", secret);
        b.Tp("aws-secret-access-key", "const creds = { secretAccessKey: \"{T}\" };", f.B64Of(40));
        b.Fp("aws-secret-access-key", "aws_secret_access_key = " + f.HexOf(40) + "\n");
        b.Fp("aws-secret-access-key", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

        b.Tp("aws-secret-access-key-near-id", "User name,Access key ID,Secret access key\nci-deployer," + keyId + ",{T}\n", f.B64Of(40));
        b.Tp("aws-secret-access-key-near-id", "Here are the deploy credentials:\n" + keyId + "\n{T}\n", f.B64Of(40));
        b.Fp("aws-secret-access-key-near-id", "key " + keyId + "\ncommit " + f.HexOf(40) + "\n");
        b.Fp("aws-secret-access-key-near-id", "id: " + keyId + "\n\n\n\n\n\n\n\n\nblob: " + f.B64Of(40) + "\n");

        b.Tp("aws-session-token", "aws_session_token = {T}\n", f.B64Of(356));
        b.Fp("aws-session-token", "aws_session_token = " + f.B64Of(60) + "\n");

        b.Tp("aws-session-token-prefixed", "export AWS_SECURITY_TOKEN={T}\n", "IQoJb3JpZ2luX2Vj" + f.B64Of(420) + "==");
        b.Tp("aws-session-token-prefixed", "token={T}", "FwoGZXIvYXdzE" + f.B64Of(300));
        b.Fp("aws-session-token-prefixed", "the header IQoJb3JpZ2luX2Vj" + f.B64Of(40) + " is truncated");

        b.Tp("aws-bedrock-api-key", "export AWS_BEARER_TOKEN_BEDROCK={T}\n", "ABSKQmVkcm9ja0FQSUtleS" + f.B64Of(110) + "=");
        b.Fp("aws-bedrock-api-key", "Long-term keys look like ABSKQmVkcm9ja0FQSUtleS... in the console.");

        b.Tp("aws-bedrock-short-term-api-key", "AWS_BEARER_TOKEN_BEDROCK=\"{T}\"", "bedrock-api-key-YmVkcm9jay" + f.B64Of(640) + "==");
        b.Fp("aws-bedrock-short-term-api-key", "let myApiKey = \"bedrock-api-key-YmVkcm9jay ... (redacted) ...\"");

        b.Tp("aws-mws-auth-token", "MWS_AUTH_TOKEN={T}\n", "amzn.mws." + f.Uuid());
        b.Fp("aws-mws-auth-token", "endpoint: amzn.mws.orders-v2");
    }

    private static void Google(Builder b)
    {
        var f = FakeTokens.For("google");
        var apiKey = "AIza" + f.B64UrlOf(35);
        b.Tp("gcp-api-key", "const firebaseConfig = {\n  apiKey: \"{T}\",\n  authDomain: \"demo.firebaseapp.com\",\n};", apiKey);
        b.Tp("gcp-api-key", "curl \"https://generativelanguage.googleapis.com/v1beta/models?key={T}\"", "AIza" + f.B64UrlOf(35));
        b.Fp("gcp-api-key", "apiKey: \"AIza" + f.B64UrlOf(30) + "\"");
        b.Fp("gcp-api-key", "GOOGLE_API_KEY=AIzaXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");

        var pemJson = "-----BEGIN PRIVATE KEY-----\\n" + string.Join("\\n", Enumerable.Range(0, 25).Select(_ => f.B64Of(64))) + "\\n-----END PRIVATE KEY-----\\n";
        b.Tp("gcp-service-account-key", "{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-project-421337\",\n  \"private_key_id\": \"" + f.HexOf(40) + "\",\n  \"private_key\": \"{T}\",\n  \"client_email\": \"ci@demo-project-421337.iam.gserviceaccount.com\"\n}", pemJson);
        b.Fp("gcp-service-account-key", "{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n\"\n}");

        var saJson = "{\"type\":\"service_account\",\"project_id\":\"demo-project-421337\",\"private_key_id\":\"" + f.HexOf(40) + "\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\n" + f.B64Of(64) + "\\n" + f.B64Of(64) + "\\n-----END PRIVATE KEY-----\\n\",\"client_email\":\"ci@demo-project-421337.iam.gserviceaccount.com\"}";
        var saBase64 = FakeTokens.Base64Of(saJson);
        b.Tp("gcp-service-account-key-base64", "GOOGLE_CREDENTIALS_B64={T}\n", saBase64);
        b.Fp("gcp-service-account-key-base64", "GOOGLE_CREDENTIALS_B64=" + saBase64[..300] + "\n");

        b.Tp("gcp-oauth-client-secret", "{\"installed\":{\"client_id\":\"123-abc.apps.googleusercontent.com\",\"client_secret\":\"{T}\"}}", "GOCSPX-" + f.B64UrlOf(28));
        b.Fp("gcp-oauth-client-secret", "client_secret: GOCSPX-<your-client-secret>");

        b.Tp("google-oauth-access-token", "curl -H 'Authorization: Bearer {T}' https://www.googleapis.com/drive/v3/files", "ya29." + f.B64UrlOf(160));
        b.Fp("google-oauth-access-token", "Tokens start with ya29.a0Af and are short-lived.");

        b.Tp("google-oauth-refresh-token", "{\"refresh_token\": \"{T}\", \"token_type\": \"Bearer\"}", "1//0g" + f.B64UrlOf(98));
        b.Fp("google-oauth-refresh-token", "see https://docs.fake.test/1//0" + f.AlnumOf(50) + " for details");

        b.Tp("firebase-cloud-messaging-server-key", "FCM_SERVER_KEY={T}\n", "AAAA" + f.B64UrlOf(7) + ":APA91b" + f.B64UrlOf(134));
        b.Fp("firebase-cloud-messaging-server-key", "FCM_SERVER_KEY=AAAA" + f.B64UrlOf(7) + ":APA91b" + f.B64UrlOf(40) + "\n");

        b.Tp("google-chat-webhook", "WEBHOOK_URL=\"{T}\"", "https://chat.googleapis.com/v1/spaces/AAAA" + f.AlnumOf(7) + "/messages?key=AIza" + f.B64UrlOf(35) + "&token=" + f.B64UrlOf(43) + "%3D");
        b.Fp("google-chat-webhook", "POST https://chat.googleapis.com/v1/spaces/AAAAbcdefgh/messages");
    }

    private static void Azure(Builder b)
    {
        var f = FakeTokens.For("azure");
        b.Tp("azure-storage-account-key-identifiable", "Primary key: {T}\n", f.B64Of(76) + "+ASt" + f.B64Of(5) + "Q==");
        b.Fp("azure-storage-account-key-identifiable", "key " + f.B64Of(75) + "+ASt" + f.B64Of(5) + "Q==\n");

        b.Tp("azure-storage-connection-string", "\"ConnectionStrings\": { \"Blob\": \"DefaultEndpointsProtocol=https;AccountName=fakestore421;AccountKey={T};EndpointSuffix=core.windows.net\" }", f.B64Of(86) + "==");
        b.Fp("azure-storage-connection-string", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + f.B64Of(86) + "==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;");

        b.Tp("azure-storage-account-key", "AZURE_STORAGE_KEY={T}\n", f.B64Of(86) + "==");
        b.Fp("azure-storage-account-key", "AZURE_STORAGE_KEY=" + f.B64Of(40) + "\n");

        var sig = Uri.EscapeDataString(f.Base64Key(32));
        b.Tp("azure-sas-token", "az storage blob download --blob-url \"https://fakestore421.blob.core.windows.net/backups/db.bak?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31T00:00:00Z&st=2026-01-01T00:00:00Z&spr=https&sig={T}\"", sig);
        b.Fp("azure-sas-token", "The SAS query has the form ?sv=<version>&sp=<permissions>&sig=<signature>.");

        const string aadChars = FakeTokens.Alnum + "._~-";
        b.Tp("azure-ad-client-secret", "\"AzureAd\": { \"ClientId\": \"" + f.Uuid() + "\", \"ClientSecret\": \"{T}\" }", f.Chars(FakeTokens.Alnum, 3) + "8Q~" + f.Chars(aadChars, 33) + f.Chars(FakeTokens.Alnum, 1));
        b.Fp("azure-ad-client-secret", "ClientSecret: abc8Q~short");

        var adoPat = f.AlnumOf(52) + "JQQJ99" + f.AlnumOf(1) + "C" + f.AlnumOf(16) + "AZDO" + f.AlnumOf(4);
        b.Tp("azure-devops-pat", "export AZURE_DEVOPS_EXT_PAT={T}\n", adoPat);
        b.Fp("azure-devops-pat", "export AZURE_DEVOPS_EXT_PAT=" + f.AlnumOf(52) + "JQQJ88" + f.AlnumOf(18) + "AZDO" + f.AlnumOf(4) + "\n");

        b.Tp("azure-common-annotated-key", "export SEARCH_ADMIN={T}\n", f.AlnumOf(52) + "JQQJ9D" + f.AlnumOf(1) + "B" + f.AlnumOf(16) + "AzSe" + f.AlnumOf(4));
        b.Fp("azure-common-annotated-key", "id " + f.AlnumOf(52) + "JQQJ9Z" + f.AlnumOf(26) + "\n");

        b.Tp("azure-devops-pat-legacy", "AZURE_DEVOPS_PAT={T}\n", f.Chars("abcdefghijklmnopqrstuvwxyz234567", 52));
        b.Fp("azure-devops-pat-legacy", "AZURE_DEVOPS_ORG=contoso\n");

        b.Tp("azure-function-key", "curl \"https://fake-func.azurewebsites.net/api/ingest?code={T}\"", f.B64UrlOf(44) + "AzFu" + f.B64UrlOf(5) + "A==");
        b.Fp("azure-function-key", "code=" + f.B64UrlOf(30) + "AzFu" + f.B64UrlOf(5) + "A==");

        b.Tp("azure-cosmosdb-key-identifiable", "{ \"primaryMasterKey\": \"{T}\" }", f.B64Of(76) + "ACDb" + f.B64Of(5) + "g==");
        b.Fp("azure-cosmosdb-key-identifiable", "{ \"primaryMasterKey\": \"" + f.B64Of(76) + "ACDc" + f.B64Of(5) + "g==\" }");

        b.Tp("azure-apim-key-identifiable", "Ocp-Apim-Subscription-Key: {T}\n", f.B64Of(76) + "APIM" + f.B64Of(5) + "w==");
        b.Fp("azure-apim-key-identifiable", "The APIM gateway forwards Ocp-Apim-Subscription-Key headers to the backend.");

        b.Tp("azure-messaging-key-identifiable", "{ \"primaryKey\": \"{T}\" }", f.B64Of(33) + "+ASb" + f.B64Of(5) + "E=");
        b.Fp("azure-messaging-key-identifiable", "{ \"primaryKey\": \"" + f.B64Of(20) + "+ASb" + f.B64Of(5) + "E=\" }");

        b.Tp("azure-cosmosdb-connection-string", "COSMOS_CONNECTION=AccountEndpoint=https://fake-cosmos.documents.azure.com:443/;AccountKey={T};", f.B64Of(86) + "==");
        b.Fp("azure-cosmosdb-connection-string", "COSMOS_CONNECTION=AccountEndpoint=https://localhost:8081/;AccountKey=" + f.B64Of(86) + "==;");

        b.Tp("azure-servicebus-connection-string", "\"ServiceBus\": \"Endpoint=sb://fake-bus.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={T}\"", f.Base64Key(32));
        b.Fp("azure-servicebus-connection-string", "Endpoint=sb://fake-bus.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=<key>");

        b.Tp("azure-iot-connection-string", "IOTHUB_CONNECTION_STRING=\"HostName=fake-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={T}\"", f.Base64Key(32));
        b.Fp("azure-iot-connection-string", "HostName=fake-hub.azure-devices.net;DeviceId=sensor-7;SharedAccessKey=${DEVICE_KEY}");

        b.Tp("azure-app-configuration-connection-string", "AppConfig=Endpoint=https://fake-cfg.azconfig.io;Id=AbCd-l0-s0:Xyz123;Secret={T}\n", f.Base64Key(32));
        b.Fp("azure-app-configuration-connection-string", "AppConfig=Endpoint=https://fake-cfg.azconfig.io;Id=AbCd;Secret=<secret>\n");

        b.Tp("azure-signalr-connection-string", "\"Azure:SignalR:ConnectionString\": \"Endpoint=https://fake-sig.service.signalr.net;AccessKey={T};Version=1.0;\"", f.Base64Key(32));
        b.Fp("azure-signalr-connection-string", "Endpoint=https://fake-sig.service.signalr.net;AuthType=azure.msi;Version=1.0;");

        b.Tp("azure-logic-app-webhook", "FLOW_URL={T}\n", "https://prod-12.westeurope.logic.azure.com:443/workflows/" + f.HexOf(32) + "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + f.B64UrlOf(43));
        b.Fp("azure-logic-app-webhook", "FLOW_URL=https://prod-12.westeurope.logic.azure.com:443/workflows/" + f.HexOf(32) + "/triggers/manual/paths/invoke?api-version=2016-06-01\n");
    }

    private static void OtherClouds(Builder b)
    {
        var f = FakeTokens.For("clouds");
        b.Tp("alibaba-access-key-id", "access_key_id: {T}\n", "LTAI" + f.AlnumOf(20));
        b.Fp("alibaba-access-key-id", "access_key_id: LTAI" + f.AlnumOf(8) + "\n");

        b.Tp("alibaba-access-key-secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET={T}\n", f.AlnumOf(30));
        b.Fp("alibaba-access-key-secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + f.AlnumOf(20) + "\n");

        b.Tp("tencent-secret-id", "TENCENTCLOUD_SECRET_ID={T}\n", "AKID" + f.AlnumOf(32));
        b.Fp("tencent-secret-id", "TENCENTCLOUD_SECRET_ID=AKID" + f.AlnumOf(20) + "\n");

        b.Tp("ibm-cloud-api-key", "IBMCLOUD_API_KEY={T}\n", f.B64UrlOf(43) + "Q");
        b.Fp("ibm-cloud-api-key", "IBMCLOUD_API_KEY=" + f.AlnumOf(30) + "\n");

        b.Tp("yandex-cloud-api-key", "YC_API_KEY={T}\n", "AQVN" + f.B64UrlOf(35) + "x");
        b.Fp("yandex-cloud-api-key", "YC_API_KEY=AQVN" + f.AlnumOf(10) + "\n");

        b.Tp("digitalocean-pat", "export DIGITALOCEAN_TOKEN={T}\n", "dop_v1_" + f.HexOf(64));
        b.Fp("digitalocean-pat", "export DIGITALOCEAN_TOKEN=dop_v1_" + f.HexOf(63) + "\n");
        b.Tp("digitalocean-oauth-token", "token: {T}\n", "doo_v1_" + f.HexOf(64));
        b.Fp("digitalocean-oauth-token", "token: doo_v1_" + f.HexOf(20) + "\n");
        b.Tp("digitalocean-refresh-token", "refresh_token={T}\n", "dor_v1_" + f.HexOf(64));
        b.Fp("digitalocean-refresh-token", "refresh_token=dor_v1_abc\n");

        b.Tp("heroku-api-key", "HEROKU_API_KEY={T}\n", f.Uuid());
        b.Fp("heroku-api-key", "HEROKU_APP_NAME=fake-app-staging\n");

        b.Tp("heroku-api-token", "HEROKU_API_KEY={T}\n", "HRKU-AA" + f.B64UrlOf(57) + "Q");
        b.Tp("heroku-api-token", "heroku_token = \"{T}\"\n", "HRKU-" + f.Uuid());
        b.Fp("heroku-api-token", "Tokens now start with HRKU- followed by the secret.");

        b.Tp("cloudflare-api-token", "CLOUDFLARE_API_TOKEN={T}\n", f.B64UrlOf(39) + "a");
        b.Fp("cloudflare-api-token", "CLOUDFLARE_API_TOKEN=" + f.AlnumOf(20) + "\n");

        b.Tp("cloudflare-global-api-key", "CF_API_KEY={T}\n", f.HexOf(37));
        b.Fp("cloudflare-global-api-key", "CF_API_KEY=" + f.HexOf(32) + "\n");

        b.Tp("cloudflare-origin-ca-key", "origin_ca_key = \"{T}\"\n", "v1.0-" + f.HexOf(24) + "-" + f.HexOf(146));
        b.Fp("cloudflare-origin-ca-key", "api version v1.0-" + f.HexOf(24) + " released\n");

        b.Tp("fastly-api-token", "FASTLY_API_TOKEN={T}\n", f.B64UrlOf(31) + "k");
        b.Fp("fastly-api-token", "FASTLY_SERVICE_ID=" + f.AlnumOf(22) + "\n");

        b.Tp("vercel-token", "VERCEL_TOKEN={T}\n", f.AlnumOf(24));
        b.Fp("vercel-token", "VERCEL_ORG_ID=team_" + f.AlnumOf(24) + "\n");

        b.Tp("netlify-pat", "NETLIFY_AUTH_TOKEN={T}\n", "nfp_" + f.AlnumOf(36));
        b.Fp("netlify-pat", "NETLIFY_AUTH_TOKEN=nfp_" + f.AlnumOf(20) + "\n");

        b.Tp("netlify-access-token", "NETLIFY_AUTH_TOKEN={T}\n", f.B64UrlOf(42) + "z");
        b.Fp("netlify-access-token", "NETLIFY_SITE_ID=" + f.Uuid() + "\n");

        b.Tp("render-api-key", "RENDER_API_KEY={T}\n", "rnd_" + f.AlnumOf(32));
        b.Fp("render-api-key", "RENDER_API_KEY=rnd_" + f.AlnumOf(10) + "\n");

        b.Tp("planetscale-token", "PLANETSCALE_SERVICE_TOKEN={T}\n", "pscale_tkn_" + f.AlnumOf(43));
        b.Fp("planetscale-token", "PLANETSCALE_SERVICE_TOKEN=pscale_tkn_" + f.AlnumOf(10) + "\n");

        b.Tp("scalingo-api-token", "SCALINGO_API_TOKEN={T}\n", "tk-us-" + f.B64UrlOf(47) + "p");
        b.Fp("scalingo-api-token", "SCALINGO_API_TOKEN=tk-us-" + f.AlnumOf(20) + "\n");

        b.Tp("supabase-pat", "SUPABASE_ACCESS_TOKEN={T}\n", "sbp_" + f.HexOf(40));
        b.Fp("supabase-pat", "SUPABASE_ACCESS_TOKEN=sbp_" + f.HexOf(20) + "\n");

        b.Tp("supabase-secret-key", "SUPABASE_SECRET_KEY={T}\n", "sb_secret_" + f.AlnumOf(40));
        b.Fp("supabase-secret-key", "SUPABASE_PUBLISHABLE_KEY=sb_publishable_" + f.AlnumOf(31) + "\n");

        b.Tp("databricks-token", "DATABRICKS_TOKEN={T}\n", "dapi" + f.HexOf(32));
        b.Fp("databricks-token", "DATABRICKS_TOKEN=dapi" + f.HexOf(16) + "\n");

        b.Tp("terraform-cloud-token", "credentials \"app.terraform.io\" {\n  token = \"{T}\"\n}\n", f.AlnumOf(14) + ".atlasv1." + f.B64UrlOf(66) + "w");
        b.Fp("terraform-cloud-token", "token = \"" + f.AlnumOf(14) + ".atlasv1." + f.AlnumOf(20) + "\"\n");

        b.Tp("pulumi-access-token", "PULUMI_ACCESS_TOKEN={T}\n", "pul-" + f.HexOf(40));
        b.Fp("pulumi-access-token", "PULUMI_ACCESS_TOKEN=pul-" + f.HexOf(20) + "\n");
    }

    private static void CodeHosts(Builder b)
    {
        var f = FakeTokens.For("codehosts");
        foreach (var (id, prefix, context) in new[]
        {
            ("github-pat", "ghp_", "export GITHUB_TOKEN={T}\n"),
            ("github-oauth-token", "gho_", "oauth_token: {T}\n"),
            ("github-user-to-server-token", "ghu_", "Authorization: token {T}\n"),
            ("github-server-to-server-token", "ghs_", "git clone https://x-access-token:{T}@github.com/fake-org/repo.git\n"),
            ("github-refresh-token", "ghr_", "{\"refresh_token\":\"{T}\"}"),
        })
        {
            var token = f.ChecksummedToken(prefix);
            b.Tp(id, context, token);
            b.Fp(id, context.Replace(Placeholder, FakeTokens.BreakChecksum(token), StringComparison.Ordinal));
        }

        b.Fp("github-pat", "export GITHUB_TOKEN=ghp_" + f.AlnumOf(30) + "\n");

        b.Tp("github-fine-grained-pat", "GH_TOKEN={T}\n", "github_pat_" + f.AlnumOf(22) + "_" + f.AlnumOf(59));
        b.Fp("github-fine-grained-pat", "GH_TOKEN=github_pat_" + f.AlnumOf(22) + "_" + f.AlnumOf(30) + "\n");

        b.Tp("github-oauth-client-secret", "GITHUB_CLIENT_SECRET={T}\n", f.HexOf(40));
        b.Fp("github-oauth-client-secret", "GITHUB_CLIENT_ID=Iv1." + f.HexOf(16) + "\n");

        b.Tp("github-legacy-token", "GITHUB_TOKEN={T}\n", f.HexOf(40));
        b.Fp("github-legacy-token", "GITHUB_SHA=" + f.HexOf(40) + "\n");

        b.Tp("gitlab-pat", "git push https://oauth2:{T}@gitlab.fake.test/group/project.git\n", "glpat-" + f.AlnumOf(20));
        b.Tp("gitlab-pat", "GITLAB_TOKEN={T}\n", "glpat-" + f.B64UrlOf(26) + "q.01." + f.Chars(FakeTokens.LowerAlnum, 9));
        b.Fp("gitlab-pat", "GITLAB_TOKEN=glpat-" + f.AlnumOf(10) + "\n");

        foreach (var (id, prefix, length) in new[]
        {
            ("gitlab-deploy-token", "gldt-", 20),
            ("gitlab-runner-auth-token", "glrt-", 20),
            ("gitlab-runner-registration-token", "GR1348941", 20),
            ("gitlab-ci-job-token", "glcbt-", 30),
            ("gitlab-oauth-app-secret", "gloas-", 64),
            ("gitlab-feed-token", "glft-", 20),
            ("gitlab-incoming-mail-token", "glimt-", 25),
            ("gitlab-agent-token", "glagent-", 50),
            ("gitlab-scim-token", "glsoat-", 20),
            ("gitlab-feature-flag-client-token", "glffct-", 20),
        })
        {
            b.Tp(id, "token: {T}\n", prefix + f.AlnumOf(length));
            b.Fp(id, "token: " + prefix + f.AlnumOf(8) + "\n");
        }

        b.Tp("gitlab-pipeline-trigger-token", "curl -X POST -F token={T} -F ref=main https://gitlab.fake.test/api/v4/projects/42/trigger/pipeline\n", "glptt-" + f.HexOf(40));
        b.Fp("gitlab-pipeline-trigger-token", "curl -X POST -F token=glptt-" + f.HexOf(12) + " -F ref=main\n");

        b.Tp("bitbucket-app-password", "BITBUCKET_APP_PASSWORD={T}\n", "ATBB" + f.AlnumOf(32));
        b.Fp("bitbucket-app-password", "BITBUCKET_APP_PASSWORD=ATBB" + f.AlnumOf(10) + "\n");

        b.Tp("bitbucket-access-token", "BITBUCKET_TOKEN={T}\n", "ATCTT3xFfGN0" + f.B64UrlOf(180) + "=" + f.Chars(FakeTokens.HexUpper, 8));
        b.Fp("bitbucket-access-token", "BITBUCKET_TOKEN=ATCTT3xFfGN0" + f.AlnumOf(30) + "\n");

        b.Tp("atlassian-api-token", "JIRA_API_TOKEN={T}\n", "ATATT3xFfGF0" + f.B64UrlOf(180) + "=" + f.Chars(FakeTokens.HexUpper, 8));
        b.Fp("atlassian-api-token", "JIRA_API_TOKEN=ATATT3xFfGF0" + f.AlnumOf(30) + "\n");

        b.Tp("atlassian-legacy-api-token", "JIRA_API_TOKEN={T}\n", f.AlnumOf(24));
        b.Fp("atlassian-legacy-api-token", "JIRA_URL=https://fake.atlassian.net\n");

        b.Tp("gitea-token", "GITEA_TOKEN={T}\n", f.HexOf(40));
        b.Fp("gitea-token", "GITEA_URL=https://gitea.fake.test\n");

        b.Tp("circleci-pat", "CIRCLE_TOKEN={T}\n", "CCIPAT_" + f.AlnumOf(22) + "_" + f.HexOf(40));
        b.Fp("circleci-pat", "CIRCLE_TOKEN=CCIPAT_" + f.AlnumOf(22) + "\n");

        b.Tp("buildkite-api-token", "BUILDKITE_API_TOKEN={T}\n", "bkua_" + f.HexOf(40));
        b.Fp("buildkite-api-token", "BUILDKITE_API_TOKEN=bkua_" + f.HexOf(12) + "\n");

        b.Tp("harness-pat", "x-api-key: {T}\n", "pat." + f.AlnumOf(22) + "." + f.HexOf(24) + "." + f.AlnumOf(20));
        b.Fp("harness-pat", "see pat.account.settings for personal tokens\n");

        b.Tp("octopus-deploy-api-key", "OCTOPUS_API_KEY={T}\n", "API-" + f.Chars(FakeTokens.UpperAlnum, 28));
        b.Fp("octopus-deploy-api-key", "The API-GATEWAY-URL setting points at the gateway.\n");

        b.Tp("sonarqube-token", "sonar.token={T}\n", "squ_" + f.HexOf(40));
        b.Fp("sonarqube-token", "sonar.token=squ_" + f.HexOf(20) + "\n");

        b.Tp("snyk-api-token", "SNYK_TOKEN={T}\n", f.Uuid());
        b.Fp("snyk-api-token", "SNYK_ORG=fake-org\n");
    }

    private static void AiProviders(Builder b)
    {
        var f = FakeTokens.For("ai");
        b.Tp("anthropic-api-key", "export ANTHROPIC_API_KEY={T}\n", "sk-ant-api03-" + f.B64UrlOf(93) + "AA");
        b.Tp("anthropic-api-key", "{\"headers\": {\"x-api-key\": \"{T}\", \"anthropic-version\": \"2023-06-01\"}}", "sk-ant-api03-" + f.B64UrlOf(93) + "AA");
        b.Fp("anthropic-api-key", "partial_key_hint: sk-ant-api03-R2D...igAA");
        b.Fp("anthropic-api-key", "ANTHROPIC_API_KEY=sk-ant-api03-" + new string('X', 93) + "AA");

        b.Tp("anthropic-admin-key", "ANTHROPIC_ADMIN_KEY={T}\n", "sk-ant-admin01-" + f.B64UrlOf(93) + "AA");
        b.Fp("anthropic-admin-key", "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-" + f.AlnumOf(40) + "\n");

        b.Tp("anthropic-oauth-token", "CLAUDE_CODE_OAUTH_TOKEN={T}\n", "sk-ant-oat01-" + f.B64UrlOf(93) + "AA");
        b.Fp("anthropic-oauth-token", "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-" + f.AlnumOf(30) + "\n");

        b.Tp("anthropic-session-key", "curl https://claude.ai/api/organizations -H \"Cookie: sessionKey={T}; lastActiveOrg=" + f.Uuid() + "\"\n", "sk-ant-sid01-" + f.B64UrlOf(93) + "AA");
        b.Fp("anthropic-session-key", "Copy the sessionKey cookie (starts with sk-ant-sid01-...) into the tool.\n");

        foreach (var (id, prefix) in new[] { ("openai-project-key", "sk-proj-"), ("openai-service-account-key", "sk-svcacct-"), ("openai-admin-key", "sk-admin-"), ("openai-user-key", "sk-None-") })
        {
            b.Tp(id, "OPENAI_API_KEY={T}\n", prefix + f.B64UrlOf(73) + "eT3BlbkFJ" + f.B64UrlOf(73) + "A");
            b.Fp(id, "OPENAI_API_KEY=" + prefix + f.AlnumOf(60) + "\n");
        }

        b.Tp("openai-legacy-key", "openai.api_key = \"{T}\"\n", "sk-" + f.AlnumOf(20) + "T3BlbkFJ" + f.AlnumOf(20));
        b.Fp("openai-legacy-key", "openai.api_key = \"sk-" + f.AlnumOf(48) + "\"\n");

        b.Tp("openrouter-api-key", "OPENROUTER_API_KEY={T}\n", "sk-or-v1-" + f.HexOf(64));
        b.Fp("openrouter-api-key", "OPENROUTER_API_KEY=sk-or-v1-" + f.HexOf(30) + "\n");

        b.Tp("huggingface-token", "huggingface-cli login --token {T}\n", "hf_" + f.Chars(FakeTokens.Letters, 34));
        b.Fp("huggingface-token", "HF_TOKEN=hf_" + f.Chars(FakeTokens.Letters, 20) + "\n");

        b.Tp("huggingface-org-token", "HF_ORG_TOKEN={T}\n", "api_org_" + f.Chars(FakeTokens.Letters, 34));
        b.Fp("huggingface-org-token", "HF_ORG_TOKEN=api_org_" + f.Chars(FakeTokens.Letters, 12) + "\n");

        foreach (var (id, env, prefix, length) in new[]
        {
            ("groq-api-key", "GROQ_API_KEY", "gsk_", 52),
            ("replicate-api-token", "REPLICATE_API_TOKEN", "r8_", 37),
            ("perplexity-api-key", "PERPLEXITY_API_KEY", "pplx-", 48),
            ("xai-api-key", "XAI_API_KEY", "xai-", 80),
        })
        {
            b.Tp(id, env + "={T}\n", prefix + f.AlnumOf(length));
            b.Fp(id, env + "=" + prefix + f.AlnumOf(length / 2) + "\n");
        }

        b.Tp("cohere-api-key", "COHERE_API_KEY={T}\n", f.AlnumOf(40));
        b.Fp("cohere-api-key", "COHERE_MODEL=command-r-plus\n");

        b.Tp("mistral-api-key", "MISTRAL_API_KEY={T}\n", f.AlnumOf(32));
        b.Fp("mistral-api-key", "MISTRAL_MODEL=mistral-large-latest\n");

        b.Tp("deepseek-api-key", "DEEPSEEK_API_KEY={T}\n", "sk-" + f.HexOf(32));
        b.Fp("deepseek-api-key", "DEEPSEEK_BASE_URL=https://api.deepseek.com\n");

        b.Tp("langsmith-api-key", "LANGSMITH_API_KEY={T}\n", "lsv2_pt_" + f.HexOf(32) + "_" + f.HexOf(10));
        b.Fp("langsmith-api-key", "LANGSMITH_API_KEY=lsv2_pt_" + f.HexOf(32) + "\n");

        b.Tp("langfuse-secret-key", "LANGFUSE_SECRET_KEY={T}\n", "sk-lf-" + f.Uuid());
        b.Fp("langfuse-secret-key", "LANGFUSE_PUBLIC_KEY=pk-lf-" + f.Uuid() + "\n");

        b.Tp("pinecone-api-key", "PINECONE_API_KEY={T}\n", "pcsk_" + f.AlnumOf(5) + "_" + f.AlnumOf(63));
        b.Fp("pinecone-api-key", "PINECONE_API_KEY=pcsk_" + f.AlnumOf(5) + "\n");

        b.Tp("tavily-api-key", "TAVILY_API_KEY={T}\n", "tvly-dev-" + f.AlnumOf(32));
        b.Fp("tavily-api-key", "TAVILY_API_KEY=tvly-" + f.AlnumOf(12) + "\n");

        b.Tp("firecrawl-api-key", "FIRECRAWL_API_KEY={T}\n", "fc-" + f.HexOf(32));
        b.Fp("firecrawl-api-key", "FIRECRAWL_API_URL=https://api.firecrawl.dev\n");

        b.Tp("elevenlabs-api-key", "ELEVENLABS_API_KEY={T}\n", "sk_" + f.HexOf(48));
        b.Fp("elevenlabs-api-key", "ELEVENLABS_VOICE_ID=" + f.AlnumOf(20) + "\n");

        b.Tp("wandb-api-key", "WANDB_API_KEY={T}\n", f.HexOf(40));
        b.Fp("wandb-api-key", "WANDB_PROJECT=fake-experiments\n");
    }

    private static void Payments(Builder b)
    {
        var f = FakeTokens.For("payments");
        b.Tp("stripe-secret-key", "Stripe.api_key = \"{T}\"\n", "sk_live_" + f.AlnumOf(99));
        b.Fp("stripe-secret-key", "const stripe = Stripe('pk_live_" + f.AlnumOf(99) + "');");
        b.Fp("stripe-secret-key", "STRIPE_KEY=sk_live_" + f.AlnumOf(10) + "\n");

        b.Tp("stripe-restricted-key", "STRIPE_RESTRICTED_KEY={T}\n", "rk_live_" + f.AlnumOf(99));
        b.Fp("stripe-restricted-key", "STRIPE_RESTRICTED_KEY=rk_live_" + f.AlnumOf(12) + "\n");

        b.Tp("stripe-test-secret-key", "STRIPE_SECRET_KEY={T}\n", "sk_test_" + f.AlnumOf(99));
        b.Fp("stripe-test-secret-key", "STRIPE_SECRET_KEY=sk_test_" + f.AlnumOf(12) + "\n");

        b.Tp("stripe-webhook-secret", "STRIPE_WEBHOOK_SECRET={T}\n", "whsec_" + f.AlnumOf(32));
        b.Fp("stripe-webhook-secret", "STRIPE_WEBHOOK_SECRET=whsec_" + f.AlnumOf(12) + "\n");

        b.Tp("square-access-token", "SQUARE_ACCESS_TOKEN={T}\n", "EAAA" + f.B64UrlOf(59) + "c");
        b.Fp("square-access-token", "SQUARE_ACCESS_TOKEN=EAAA" + f.AlnumOf(30) + "\n");

        b.Tp("square-oauth-secret", "SQUARE_APP_SECRET={T}\n", "sq0csp-" + f.B64UrlOf(42) + "d");
        b.Fp("square-oauth-secret", "SQUARE_APP_SECRET=sq0csp-" + f.AlnumOf(20) + "\n");

        b.Tp("braintree-access-token", "BRAINTREE_ACCESS_TOKEN={T}\n", "access_token$production$" + f.Chars(FakeTokens.LowerAlnum, 16) + "$" + f.HexOf(32));
        b.Fp("braintree-access-token", "BRAINTREE_ACCESS_TOKEN=access_token$sandbox$" + f.Chars(FakeTokens.LowerAlnum, 16) + "$" + f.HexOf(32) + "\n");

        b.Tp("paypal-client-secret", "PAYPAL_CLIENT_SECRET={T}\n", f.B64UrlOf(79) + "E");
        b.Fp("paypal-client-secret", "PAYPAL_CLIENT_SECRET=" + f.AlnumOf(40) + "\n");

        b.Tp("adyen-api-key", "ADYEN_API_KEY={T}\n", "AQE" + f.B64Of(80) + "==-" + f.B64Of(43) + "=-" + f.AlnumOf(10));
        b.Fp("adyen-api-key", "ADYEN_API_KEY=AQE" + f.AlnumOf(40) + "\n");

        b.Tp("flutterwave-secret-key", "FLW_SECRET_KEY={T}\n", "FLWSECK_TEST-" + f.HexOf(32) + "-X");
        b.Fp("flutterwave-secret-key", "FLW_PUBLIC_KEY=FLWPUBK_TEST-" + f.HexOf(32) + "-X\n");

        b.Tp("plaid-secret", "PLAID_SECRET={T}\n", f.HexOf(30));
        b.Fp("plaid-secret", "PLAID_ENV=sandbox\n");

        b.Tp("mollie-api-key", "MOLLIE_API_KEY={T}\n", "live_" + f.AlnumOf(30));
        b.Fp("mollie-api-key", "MOLLIE_PROFILE_ID=pfl_" + f.AlnumOf(10) + "\n");

        b.Tp("shippo-live-token", "SHIPPO_API_KEY={T}\n", "shippo_live_" + f.HexOf(40));
        b.Fp("shippo-live-token", "SHIPPO_API_KEY=shippo_test_" + f.HexOf(40) + "\n");

        b.Tp("easypost-api-key", "EASYPOST_API_KEY={T}\n", "EZAK" + f.AlnumOf(54));
        b.Fp("easypost-api-key", "EASYPOST_API_KEY=EZTK" + f.AlnumOf(54) + "\n");
    }

    private static void Chat(Builder b)
    {
        var f = FakeTokens.For("chat");
        b.Tp("slack-bot-token", "SLACK_BOT_TOKEN={T}\n", "xoxb-" + f.DigitsOf(12) + "-" + f.DigitsOf(13) + "-" + f.AlnumOf(24));
        b.Fp("slack-bot-token", "Bot tokens look like xoxb-1234-5678-abcd.\n");

        b.Tp("slack-user-token", "SLACK_USER_TOKEN={T}\n", "xoxp-" + f.DigitsOf(12) + "-" + f.DigitsOf(12) + "-" + f.DigitsOf(13) + "-" + f.HexOf(32));
        b.Fp("slack-user-token", "SLACK_USER_TOKEN=xoxp-" + f.DigitsOf(12) + "-" + f.HexOf(32) + "\n");

        b.Tp("slack-workspace-token", "token={T}\n", "xoxa-2-" + f.DigitsOf(12) + "-" + f.DigitsOf(12) + "-" + f.DigitsOf(12) + "-" + f.HexOf(64));
        b.Fp("slack-workspace-token", "token=xoxa-2-" + f.DigitsOf(12) + "\n");

        b.Tp("slack-app-token", "SLACK_APP_TOKEN={T}\n", "xapp-1-A" + f.Chars(FakeTokens.UpperAlnum, 10) + "-" + f.DigitsOf(13) + "-" + f.HexOf(64));
        b.Fp("slack-app-token", "SLACK_APP_TOKEN=xapp-1-A" + f.Chars(FakeTokens.UpperAlnum, 10) + "\n");

        b.Tp("slack-config-access-token", "SLACK_CONFIG_TOKEN={T}\n", "xoxe.xoxp-1-" + f.AlnumOf(160));
        b.Fp("slack-config-access-token", "SLACK_CONFIG_TOKEN=xoxe.xoxp-1-" + f.AlnumOf(40) + "\n");

        b.Tp("slack-config-refresh-token", "SLACK_CONFIG_REFRESH={T}\n", "xoxe-1-" + f.AlnumOf(146));
        b.Fp("slack-config-refresh-token", "SLACK_CONFIG_REFRESH=xoxe-1-" + f.AlnumOf(40) + "\n");

        b.Tp("slack-legacy-token", "token: {T}\n", "xoxs-" + f.DigitsOf(10) + "-" + f.DigitsOf(10) + "-" + f.DigitsOf(12) + "-" + f.HexOf(64));
        b.Fp("slack-legacy-token", "token: xoxs-" + f.DigitsOf(4) + "\n");

        b.Tp("slack-webhook-url", "SLACK_WEBHOOK_URL={T}\n", "https://hooks.slack.com/services/T" + f.Chars(FakeTokens.UpperAlnum, 10) + "/B" + f.Chars(FakeTokens.UpperAlnum, 10) + "/" + f.AlnumOf(24));
        b.Fp("slack-webhook-url", "Incoming webhooks post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXX.\n");

        b.Tp("slack-workflow-webhook-url", "url: {T}\n", "https://hooks.slack.com/workflows/T" + f.Chars(FakeTokens.UpperAlnum, 10) + "/A" + f.Chars(FakeTokens.UpperAlnum, 10) + "/" + f.DigitsOf(18) + "/" + f.HexOf(32));
        b.Fp("slack-workflow-webhook-url", "url: https://hooks.slack.com/workflows/T" + f.Chars(FakeTokens.UpperAlnum, 10) + "\n");

        b.Tp("discord-bot-token", "DISCORD_BOT_TOKEN={T}\n", "MT" + f.AlnumOf(24) + "." + f.B64UrlOf(6) + "." + f.B64UrlOf(37) + "Q");
        b.Tp("discord-bot-token", "import os\n" + string.Concat(Enumerable.Repeat("# handler code\n", 40)) + "client.run(\"{T}\")\n", "MT" + f.AlnumOf(24) + "." + f.B64UrlOf(6) + "." + f.B64UrlOf(37) + "g");
        b.Fp("discord-bot-token", "# discord bot\nDISCORD_APP_ID=" + f.DigitsOf(19) + "\n");

        b.Tp("discord-webhook-url", "DISCORD_WEBHOOK={T}\n", "https://discord.com/api/webhooks/" + f.DigitsOf(19) + "/" + f.B64UrlOf(67) + "x");
        b.Fp("discord-webhook-url", "POST https://discord.com/api/webhooks/{webhook.id}/{webhook.token}\n");

        b.Tp("discord-client-secret", "DISCORD_CLIENT_SECRET={T}\n", f.B64UrlOf(31) + "m");
        b.Fp("discord-client-secret", "DISCORD_CLIENT_ID=" + f.DigitsOf(19) + "\n");

        b.Tp("telegram-bot-token", "TELEGRAM_BOT_TOKEN={T}\n", f.DigitsOf(10) + ":AA" + f.B64UrlOf(32) + "w");
        b.Tp("telegram-bot-token", "curl https://api.telegram.org/bot{T}/getMe\n", f.DigitsOf(9) + ":AA" + f.B64UrlOf(32) + "w");
        b.Fp("telegram-bot-token", "TELEGRAM_BOT_TOKEN=" + f.DigitsOf(10) + ":AB" + f.B64UrlOf(33) + "\n");

        var teams = "https://fakeco.webhook.office.com/webhookb2/" + f.Uuid() + "@" + f.Uuid() + "/IncomingWebhook/" + f.HexOf(32) + "/" + f.Uuid();
        b.Tp("teams-incoming-webhook", "TEAMS_WEBHOOK_URL={T}\n", teams);
        b.Tp("teams-incoming-webhook", "\"url\": \"{T}\"", teams + "/V2" + f.AlnumOf(40));
        b.Fp("teams-incoming-webhook", "Create the connector at https://fakeco.webhook.office.com/webhookb2/ and copy the URL.\n");

        b.Tp("twilio-api-key", "TWILIO_API_KEY={T}\n", "SK" + f.HexOf(32));
        b.Fp("twilio-api-key", "TWILIO_API_KEY=SK" + f.HexOf(31) + "\n");

        b.Tp("twilio-auth-token", "TWILIO_AUTH_TOKEN={T}\n", f.HexOf(32));
        b.Fp("twilio-auth-token", "TWILIO_ACCOUNT_SID=AC" + f.HexOf(32) + "\n");
    }

    private static void PrivateKeys(Builder b)
    {
        var f = FakeTokens.For("keys");
        b.Tp("private-key-rsa", "$ cat ~/.ssh/deploy_rsa\n{T}\n", f.Pem("RSA PRIVATE KEY", 25));
        b.Tp("private-key-rsa", "key.pem:\n{T}\n", f.Pem("RSA PRIVATE KEY", 26, headers: "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC," + f.Chars(FakeTokens.HexUpper, 32) + "\n\n"));
        b.Fp("private-key-rsa", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n");

        b.Tp("private-key-ec", "{T}\n", f.Pem("EC PRIVATE KEY", 3));
        b.Fp("private-key-ec", "Paste your key between -----BEGIN EC PRIVATE KEY----- and -----END EC PRIVATE KEY-----.");

        b.Tp("private-key-dsa", "{T}\n", f.Pem("DSA PRIVATE KEY", 10));
        b.Fp("private-key-dsa", "-----BEGIN DSA PRIVATE KEY-----\n<redacted>\n-----END DSA PRIVATE KEY-----");

        b.Tp("private-key-openssh", "id_ed25519:\n{T}\n", f.Pem("OPENSSH PRIVATE KEY", 7));
        b.Fp("private-key-openssh", "ssh-keygen writes -----BEGIN OPENSSH PRIVATE KEY----- files; never commit them.");

        b.Tp("private-key-pkcs8", "tls:\n  key: |\n{T}\n", f.Pem("PRIVATE KEY", 26));
        b.Tp("private-key-pkcs8", "{\"key\": \"{T}\"}", f.Pem("PRIVATE KEY", 26, newline: "\\n"));
        b.Fp("private-key-pkcs8", "const pem = `-----BEGIN PRIVATE KEY-----\\n${body}\\n-----END PRIVATE KEY-----`;");

        b.Tp("private-key-pkcs8-encrypted", "{T}\n", f.Pem("ENCRYPTED PRIVATE KEY", 27));
        b.Fp("private-key-pkcs8-encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----");

        b.Tp("private-key-pgp", "{T}\n", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: fake key for tests\n\n" + string.Join("\n", Enumerable.Range(0, 30).Select(_ => f.B64Of(64))) + "\n=" + f.B64Of(4) + "\n-----END PGP PRIVATE KEY BLOCK-----");
        b.Fp("private-key-pgp", "gpg --export-secret-keys prints -----BEGIN PGP PRIVATE KEY BLOCK----- armor.");

        b.Tp("private-key-ssh2", "{T}\n", "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"fake-key\"\n" + string.Join("\n", Enumerable.Range(0, 12).Select(_ => f.B64Of(70))) + "\n---- END SSH2 ENCRYPTED PRIVATE KEY ----");
        b.Fp("private-key-ssh2", "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"fake\"\n" + f.B64Of(70) + "\n---- END SSH2 PUBLIC KEY ----");

        var ppk = "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: fake-key\nPublic-Lines: 6\n"
            + string.Join("\n", Enumerable.Range(0, 6).Select(_ => f.B64Of(64)))
            + "\nPrivate-Lines: 14\n" + string.Join("\n", Enumerable.Range(0, 14).Select(_ => f.B64Of(64)))
            + "\nPrivate-MAC: " + f.HexOf(40);
        b.Tp("putty-private-key", "{T}\n", ppk);
        b.Fp("putty-private-key", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: aes256-cbc\nComment: header only\n");

        var pemText = f.Pem("RSA PRIVATE KEY", 20) + "\n";
        b.Tp("private-key-base64-pem", "users:\n- name: ci\n  user:\n    client-key-data: {T}\n", FakeTokens.Base64Of(pemText));
        b.Fp("private-key-base64-pem", "    client-certificate-data: " + FakeTokens.Base64Of(f.Pem("CERTIFICATE", 20) + "\n") + "\n");

        b.Tp("age-secret-key", "# created: 2026-11-24\n# public key: age1" + f.Chars("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58) + "\n{T}\n", "AGE-SECRET-KEY-1" + f.Chars(FakeTokens.Bech32Upper, 58));
        b.Fp("age-secret-key", "recipient: age1" + f.Chars("qpzry9x8gf2tvdw0s3jn54khce6mua7l", 58) + "\n");

        b.Tp("openvpn-static-key", "<tls-auth>\n{T}\n</tls-auth>\n", "-----BEGIN OpenVPN Static key V1-----\n" + string.Join("\n", Enumerable.Range(0, 16).Select(_ => f.HexOf(32))) + "\n-----END OpenVPN Static key V1-----");
        b.Fp("openvpn-static-key", "tls-auth ta.key 0 # contains -----BEGIN OpenVPN Static key V1-----\n");

        b.Tp("wireguard-private-key", "[Interface]\nPrivateKey = {T}\nAddress = 10.8.0.2/32\n", f.Base64Key(32));
        b.Fp("wireguard-private-key", "[Peer]\nPublicKey = " + f.Base64Key(32) + "\nAllowedIPs = 0.0.0.0/0\n");
    }

    private static void StructuredTokens(Builder b)
    {
        var f = FakeTokens.For("structured");
        b.Tp("jwt", "const session = \"{T}\";", f.Jwt());
        b.Tp("jwt", "2026-11-24T10:00:00Z INFO auth accepted token={T} user=42", f.Jwt());
        b.Tp("jwt", "{\"id_token\": \"{T}\", \"token_type\": \"Bearer\"}", f.LongJwt());
        b.Fp("jwt", "token=eyJ" + f.AlnumOf(20) + ".eyJ" + f.AlnumOf(20) + "." + f.B64UrlOf(43) + "\n");
        b.Fp("jwt", "The header starts with eyJhbGciOi and the claims with eyJzdWIi.");
        // The jwt.io documentation token is recognised by its published signature.
        b.Fp("jwt", "const demo = \"" + FakeTokens.Base64Url(Encoding.UTF8.GetBytes("{\"alg\":\"HS256\",\"typ\":\"JWT\"}")) + "." + FakeTokens.Base64Url(Encoding.UTF8.GetBytes("{\"sub\":\"1234567890\",\"name\":\"John Doe\",\"iat\":1516239022}")) + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\";\n");

        b.Tp("authorization-bearer-header", "curl -H \"Authorization: Bearer {T}\" https://api.fake.test/v1/items", f.AlnumOf(40));
        b.Fp("authorization-bearer-header", "curl -H \"Authorization: Bearer $API_TOKEN\" https://api.fake.test/v1/items");
        b.Fp("authorization-bearer-header", "headers: { Authorization: `Bearer ${token}` }");

        b.Tp("authorization-basic-header", "Authorization: Basic {T}\n", FakeTokens.Base64Of("svc-user:" + f.AlnumOf(16)));
        b.Fp("authorization-basic-header", "Authorization: Basic ${CREDENTIALS}\n");
        b.Fp("authorization-basic-header", "RFC 7617 example: Authorization: Basic " + FakeTokens.Base64Of("Aladdin:open sesame") + "\n");
    }

    private static void Databases(Builder b)
    {
        var f = FakeTokens.For("databases");
        b.Tp("postgres-connection-uri", "DATABASE_URL=postgres://app_user:{T}@db.internal.fake:5432/app\n", f.AlnumOf(18) + "!");
        b.Fp("postgres-connection-uri", "DATABASE_URL=postgres://postgres:postgres@localhost:5432/dev\n");
        b.Fp("postgres-connection-uri", "url: postgresql://app:${DB_PASSWORD}@db:5432/app\n");
        b.Fp("postgres-connection-uri", "e.g. postgresql://app:" + f.AlnumOf(12) + "@db.example.com:5432/app\n");

        b.Tp("mysql-connection-uri", "SQLALCHEMY_URL = \"mysql+pymysql://shop:{T}@10.0.0.5:3306/shop\"\n", f.AlnumOf(16));
        b.Fp("mysql-connection-uri", "mysql://user:password@localhost/db\n");

        b.Tp("mongodb-connection-uri", "MONGO_URI=mongodb+srv://svc:{T}@cluster0.fake.mongodb.net/?retryWrites=true\n", f.AlnumOf(20));
        b.Fp("mongodb-connection-uri", "MONGO_URI=mongodb://localhost:27017/app\n");

        b.Tp("redis-connection-uri", "REDIS_URL=redis://:{T}@cache.fake:6379/0\n", f.AlnumOf(24));
        b.Fp("redis-connection-uri", "REDIS_URL=redis://localhost:6379\n");

        b.Tp("amqp-connection-uri", "broker_url = \"amqps://worker:{T}@mq.fake:5671/jobs\"\n", f.AlnumOf(20));
        b.Fp("amqp-connection-uri", "broker_url = \"amqp://guest:guest@localhost:5672//\"\n");

        b.Tp("other-connection-uri", "EMAIL_URL=smtp://mailer:{T}@smtp.fake.test:587\n", f.AlnumOf(16));
        b.Fp("other-connection-uri", "FTP_URL=ftp://anonymous:anonymous@ftp.fake.test/pub\n");

        b.Tp("basic-auth-url", "git remote set-url origin https://deploy:{T}@git.fake.test/org/repo.git\n", f.AlnumOf(22));
        b.Fp("basic-auth-url", "See https://www.npmjs.com/package/@types/node and http://localhost:8080/@fs/src.\n");
        b.Fp("basic-auth-url", "proxy: https://user:pass@proxy.fake.test:3128\n");
        b.Fp("basic-auth-url", "const myURL = new URL('https://abc:xyz@example.com');\n");
        b.Fp("basic-auth-url", "// Prints https://admin:" + f.AlnumOf(12) + "@docs.example.org/\n");

        b.Tp("connection-string-password", "\"Default\": \"Server=tcp:fake-sql.database.windows.net,1433;Initial Catalog=app;User ID=svc;Password={T};Encrypt=True;\"", f.AlnumOf(14) + "#1");
        b.Fp("connection-string-password", "var cs = string.Format(\"Server=localhost;Database=app;User Id=sa;Password={0};\", pwd);");
        b.Fp("connection-string-password", "var connString = \"Host=myserver;Username=mylogin;Password=mypass;Database=mydatabase\";\n");

        b.Tp("jdbc-connection-password", "spring.datasource.url=jdbc:postgresql://db.fake:5432/app?user=svc&password={T}&ssl=true\n", f.AlnumOf(18));
        b.Fp("jdbc-connection-password", "spring.datasource.url=jdbc:mysql://localhost:3306/db?user=root&password=${DB_PASS}\n");

        b.Tp("mysql-cli-password", "mysql -h db.fake -u admin -p{T} shop < dump.sql\n", f.AlnumOf(14) + "9");
        b.Fp("mysql-cli-password", "mysql -h db.fake -u admin -p shop\n");

        b.Tp("sshpass-password", "sshpass -p '{T}' ssh deploy@host.fake.test\n", f.AlnumOf(14));
        b.Fp("sshpass-password", "sshpass -p \"$SSH_PASS\" ssh deploy@host.fake.test\n");

        b.Tp("redis-cli-password", "redis-cli -h cache.fake -p 6379 -a {T} PING\n", f.AlnumOf(20));
        b.Fp("redis-cli-password", "redis-cli -h cache.fake -a $REDIS_PASSWORD PING\n");

        b.Tp("curl-basic-auth", "curl -u deploy:{T} https://api.fake.test/v1/items\n", f.AlnumOf(18));
        b.Fp("curl-basic-auth", "curl -u \"$USER:$TOKEN\" https://api.fake.test/v1/items\n");
    }

    private static void Registries(Builder b)
    {
        var f = FakeTokens.For("registries");
        var npm = f.ChecksummedToken("npm_");
        b.Tp("npm-access-token", "//registry.npmjs.org/:_authToken={T}\n", npm);
        b.Fp("npm-access-token", "//registry.npmjs.org/:_authToken=" + FakeTokens.BreakChecksum(npm) + "\n");

        b.Tp("npmrc-auth-token", "@fake:registry=https://npm.pkg.github.com\n//npm.pkg.github.com/:_authToken={T}\n", f.Uuid());
        b.Fp("npmrc-auth-token", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n");

        b.Tp("npmrc-basic-auth", "registry=https://registry.fake.test/\n_auth={T}\nalways-auth=true\n", FakeTokens.Base64Of("ci:" + f.AlnumOf(16)));
        b.Fp("npmrc-basic-auth", "registry=https://registry.fake.test/\n_auth=${NPM_AUTH}\n");

        b.Tp("yarnrc-npm-auth-token", "npmScopes:\n  fake:\n    npmAuthToken: \"{T}\"\n", f.B64UrlOf(39) + "k");
        b.Fp("yarnrc-npm-auth-token", "npmScopes:\n  fake:\n    npmAuthToken: \"${NPM_TOKEN}\"\n");

        b.Tp("pypi-upload-token", "[pypi]\nusername = __token__\npassword = {T}\n", "pypi-AgEIcHlwaS5vcmc" + f.B64UrlOf(149) + "A");
        b.Fp("pypi-upload-token", "[pypi]\npassword = pypi-AgEIcHlwaS5vcmc" + f.AlnumOf(20) + "\n");

        b.Tp("testpypi-upload-token", "[testpypi]\npassword = {T}\n", "pypi-AgENdGVzdC5weXBpLm9yZw" + f.B64UrlOf(149) + "B");
        b.Fp("testpypi-upload-token", "[testpypi]\npassword = pypi-AgENdGVzdC5weXBpLm9yZw" + f.AlnumOf(20) + "\n");

        b.Tp("nuget-api-key", "dotnet nuget push Fake.1.0.0.nupkg --api-key {T} --source https://api.nuget.org/v3/index.json\n", "oy2" + f.Chars(FakeTokens.LowerAlnum, 43));
        b.Fp("nuget-api-key", "dotnet nuget push Fake.1.0.0.nupkg --api-key oy2" + f.Chars(FakeTokens.LowerAlnum, 20) + "\n");

        b.Tp("rubygems-api-key", "---\n:rubygems_api_key: {T}\n", "rubygems_" + f.HexOf(48));
        b.Fp("rubygems-api-key", "---\n:rubygems_api_key: rubygems_" + f.HexOf(20) + "\n");

        b.Tp("dockerhub-pat", "echo {T} | docker login -u fakeuser --password-stdin\n", "dckr_pat_" + f.B64UrlOf(26) + "a");
        b.Fp("dockerhub-pat", "DOCKERHUB_TOKEN=dckr_pat_" + f.AlnumOf(10) + "\n");

        b.Tp("dockerhub-oat", "DOCKERHUB_ORG_TOKEN={T}\n", "dckr_oat_" + f.B64UrlOf(31) + "b");
        b.Fp("dockerhub-oat", "DOCKERHUB_ORG_TOKEN=dckr_oat_" + f.AlnumOf(10) + "\n");

        b.Tp("docker-config-auth", "{\n  \"auths\": {\n    \"registry.fake.test\": {\n      \"auth\": \"{T}\"\n    }\n  }\n}", FakeTokens.Base64Of("robot$ci:" + f.AlnumOf(20)));
        b.Tp("docker-config-auth", "{\n  \"auths\": {\n    \"ghcr.io\": {\n      \"auth\": \"" + FakeTokens.Base64Of("bot:" + f.AlnumOf(20)) + "\"\n    },\n    \"registry.fake.test\": {\n      \"auth\": \"{T}\"\n    }\n  }\n}", FakeTokens.Base64Of("ci:" + f.AlnumOf(24)));
        b.Fp("docker-config-auth", "{\n  \"auths\": {\n    \"registry.fake.test\": {\n      \"auth\": \"\"\n    }\n  },\n  \"credsStore\": \"desktop\"\n}");
        b.Fp("docker-config-auth", "{ \"auth\": \"" + FakeTokens.Base64Of("svc:" + f.AlnumOf(20)) + "\", \"retries\": 3 }");
        b.Fp("docker-config-auth", "{ \"auths\": { \"ghcr.io\": { \"auth\": \"OAuthTokenProvider\" } } }");

        b.Tp("crates-io-token", "[registry]\ntoken = \"{T}\"\n", "cio" + f.AlnumOf(32));
        b.Fp("crates-io-token", "[registry]\ntoken = \"cio" + f.AlnumOf(12) + "\"\n");

        b.Tp("jfrog-api-key", "ARTIFACTORY_API_KEY={T}\n", "AKCp" + f.AlnumOf(69));
        b.Fp("jfrog-api-key", "ARTIFACTORY_API_KEY=AKCp" + f.AlnumOf(30) + "\n");

        b.Tp("jfrog-reference-token", "JFROG_ACCESS_TOKEN={T}\n", "cmVmdGtuOjAxOj" + f.AlnumOf(50));
        b.Fp("jfrog-reference-token", "JFROG_ACCESS_TOKEN=cmVmdGtuOjAxOj" + f.AlnumOf(20) + "\n");

        b.Tp("clojars-deploy-token", "CLOJARS_PASSWORD={T}\n", "CLOJARS_" + f.HexOf(60));
        b.Fp("clojars-deploy-token", "CLOJARS_USERNAME=fakeuser\n");

        b.Tp("gradle-plugin-portal-secret", "gradle.publish.key=" + f.AlnumOf(32) + "\ngradle.publish.secret={T}\n", f.AlnumOf(32));
        b.Fp("gradle-plugin-portal-secret", "gradle.publish.secret=${GRADLE_PUBLISH_SECRET}\n");

        b.Tp("maven-settings-password", "<server>\n  <id>fake-releases</id>\n  <username>deploy</username>\n  <password>{T}</password>\n</server>\n", f.AlnumOf(16) + "!");
        b.Fp("maven-settings-password", "<server>\n  <id>fake-releases</id>\n  <password>${env.MAVEN_PASSWORD}</password>\n</server>\n");
    }

    private static void SecretManagers(Builder b)
    {
        var f = FakeTokens.For("managers");
        b.Tp("vault-service-token", "export VAULT_TOKEN={T}\n", "hvs.CAESI" + f.B64UrlOf(85) + "Q");
        b.Fp("vault-service-token", "export VAULT_TOKEN=hvs." + f.AlnumOf(10) + "\n");

        b.Tp("vault-batch-token", "VAULT_TOKEN={T}\n", "hvb.AAAAAQ" + f.B64UrlOf(150) + "g");
        b.Fp("vault-batch-token", "VAULT_TOKEN=hvb." + f.AlnumOf(40) + "\n");

        b.Tp("vault-recovery-token", "recovery token: {T}\n", "hvr." + f.AlnumOf(24));
        b.Fp("vault-recovery-token", "recovery token: hvr." + f.AlnumOf(10) + "\n");

        b.Tp("vault-legacy-token", "VAULT_TOKEN={T}\n", "s." + f.AlnumOf(24));
        b.Fp("vault-legacy-token", "VAULT_ADDR=https://vault.fake.test:8200\n");

        b.Tp("doppler-token", "DOPPLER_TOKEN={T}\n", "dp.st." + f.AlnumOf(43));
        b.Fp("doppler-token", "DOPPLER_TOKEN=dp.st." + f.AlnumOf(12) + "\n");

        b.Tp("onepassword-service-account-token", "OP_SERVICE_ACCOUNT_TOKEN={T}\n", "ops_eyJ" + f.B64UrlOf(300));
        b.Fp("onepassword-service-account-token", "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ" + f.AlnumOf(30) + "\n");

        b.Tp("okta-api-token", "curl -H \"Authorization: SSWS {T}\" https://fake.okta.com/api/v1/users\n", "00" + f.B64UrlOf(39) + "k");
        b.Fp("okta-api-token", "OKTA_DOMAIN=fake.okta.com\n");

        b.Tp("auth0-client-secret", "AUTH0_CLIENT_SECRET={T}\n", f.B64UrlOf(63) + "R");
        b.Fp("auth0-client-secret", "AUTH0_CLIENT_ID=" + f.AlnumOf(32) + "\n");

        b.Tp("dynatrace-token", "DT_API_TOKEN={T}\n", "dt0c01." + f.Chars(FakeTokens.UpperAlnum, 24) + "." + f.Chars(FakeTokens.UpperAlnum, 64));
        b.Fp("dynatrace-token", "DT_API_TOKEN=dt0c01." + f.Chars(FakeTokens.UpperAlnum, 24) + "\n");
    }

    private static void Saas(Builder b)
    {
        var f = FakeTokens.For("saas");
        b.Tp("sendgrid-api-key", "SENDGRID_API_KEY={T}\n", "SG." + f.B64UrlOf(22) + "." + f.B64UrlOf(42) + "c");
        b.Fp("sendgrid-api-key", "SENDGRID_API_KEY=SG." + f.AlnumOf(22) + "\n");

        b.Tp("mailgun-api-key", "MAILGUN_API_KEY={T}\n", "key-" + f.HexOf(32));
        b.Fp("mailgun-api-key", "primary-key-" + f.HexOf(16) + "\n");
        b.Fp("mailgun-api-key", "const cacheName = \"thumbnail-cache-key-" + f.HexOf(32) + "\";\n");

        b.Tp("mailgun-signing-key", "MAILGUN_WEBHOOK_SIGNING_KEY={T}\n", f.HexOf(32) + "-" + f.HexOf(8) + "-" + f.HexOf(8));
        b.Fp("mailgun-signing-key", "MAILGUN_DOMAIN=mg.fake.test\n");

        b.Tp("mailchimp-api-key", "MAILCHIMP_API_KEY={T}\n", f.HexOf(32) + "-us21");
        b.Fp("mailchimp-api-key", "MAILCHIMP_SERVER=us21\n");

        b.Tp("postmark-server-token", "POSTMARK_SERVER_TOKEN={T}\n", f.Uuid());
        b.Fp("postmark-server-token", "POSTMARK_FROM=noreply@fake.test\n");

        foreach (var (id, prefix) in new[] { ("shopify-access-token", "shpat_"), ("shopify-custom-app-token", "shpca_"), ("shopify-private-app-token", "shppa_"), ("shopify-shared-secret", "shpss_") })
        {
            b.Tp(id, "SHOPIFY_TOKEN={T}\n", prefix + f.HexOf(32));
            b.Fp(id, "SHOPIFY_TOKEN=" + prefix + f.HexOf(16) + "\n");
        }

        b.Tp("datadog-api-key", "DD_API_KEY={T}\n", f.HexOf(32));
        b.Fp("datadog-api-key", "DD_SITE=datadoghq.eu\n");

        b.Tp("datadog-app-key", "DD_APP_KEY={T}\n", f.HexOf(40));
        b.Fp("datadog-app-key", "DD_APP_NAME=fake-service\n");

        b.Tp("newrelic-user-api-key", "NEW_RELIC_API_KEY={T}\n", "NRAK-" + f.Chars(FakeTokens.UpperAlnum, 27));
        b.Fp("newrelic-user-api-key", "NEW_RELIC_API_KEY=NRAK-" + f.Chars(FakeTokens.UpperAlnum, 10) + "\n");

        b.Tp("newrelic-insert-key", "NEW_RELIC_INSERT_KEY={T}\n", "NRII-" + f.B64UrlOf(31) + "v");
        b.Fp("newrelic-insert-key", "NEW_RELIC_INSERT_KEY=NRII-" + f.AlnumOf(10) + "\n");

        b.Tp("newrelic-license-key", "NEW_RELIC_LICENSE_KEY={T}\n", f.HexOf(36) + "NRAL");
        b.Fp("newrelic-license-key", "NEW_RELIC_LICENSE_KEY=" + f.HexOf(20) + "NRAL\n");

        var sentryPayload = FakeTokens.Base64Of("{\"iat\":" + f.DigitsOf(10) + ".0,\"url\":\"https://sentry.fake.test\",\"region_url\":\"https://us.sentry.fake.test\",\"org\":\"fake\"}").TrimEnd('=');
        b.Tp("sentry-org-token", "SENTRY_AUTH_TOKEN={T}\n", "sntrys_" + sentryPayload + "_" + f.B64Of(43));
        b.Fp("sentry-org-token", "SENTRY_AUTH_TOKEN=sntrys_" + sentryPayload + "\n");

        b.Tp("sentry-user-token", "SENTRY_AUTH_TOKEN={T}\n", "sntryu_" + f.HexOf(64));
        b.Fp("sentry-user-token", "SENTRY_AUTH_TOKEN=sntryu_" + f.HexOf(20) + "\n");

        b.Tp("grafana-cloud-token", "GRAFANA_CLOUD_TOKEN={T}\n", "glc_" + FakeTokens.Base64Of("{\"o\":\"" + f.DigitsOf(6) + "\",\"n\":\"fake-stack-token\",\"k\":\"" + f.AlnumOf(24) + "\",\"m\":{\"r\":\"prod-eu-west-2\"}}"));
        b.Fp("grafana-cloud-token", "GRAFANA_CLOUD_TOKEN=glc_" + f.AlnumOf(20) + "\n");

        b.Tp("grafana-service-account-token", "GRAFANA_TOKEN={T}\n", "glsa_" + f.AlnumOf(32) + "_" + f.HexOf(8));
        b.Fp("grafana-service-account-token", "GRAFANA_TOKEN=glsa_" + f.AlnumOf(32) + "\n");

        b.Tp("grafana-api-key", "GRAFANA_API_KEY={T}\n", FakeTokens.Base64Of("{\"k\":\"" + f.AlnumOf(32) + "\",\"n\":\"fake-key\",\"id\":1}"));
        b.Fp("grafana-api-key", "GRAFANA_API_KEY=eyJrIjoi" + f.AlnumOf(20) + "\n");

        b.Tp("pagerduty-api-key", "PAGERDUTY_API_KEY={T}\n", "u+" + f.AlnumOf(18));
        b.Tp("pagerduty-api-key", "curl -H \"Authorization: Token token={T}\" https://api.pagerduty.com/incidents\n", f.B64UrlOf(19) + "Z");
        b.Fp("pagerduty-api-key", "PAGERDUTY_SERVICE=P" + f.Chars(FakeTokens.UpperAlnum, 6) + "\n");

        b.Tp("linear-api-key", "LINEAR_API_KEY={T}\n", "lin_api_" + f.AlnumOf(40));
        b.Fp("linear-api-key", "LINEAR_API_KEY=lin_api_" + f.AlnumOf(20) + "\n");

        b.Tp("linear-oauth-token", "LINEAR_TOKEN={T}\n", "lin_oauth_" + f.HexOf(64));
        b.Fp("linear-oauth-token", "LINEAR_TOKEN=lin_oauth_" + f.HexOf(20) + "\n");

        b.Tp("notion-integration-secret", "NOTION_TOKEN={T}\n", "secret_" + f.AlnumOf(43));
        b.Fp("notion-integration-secret", "config.secret_key_base = ENV.fetch(\"SECRET_KEY_BASE\")\n");

        b.Tp("notion-integration-token", "NOTION_TOKEN={T}\n", "ntn_" + f.DigitsOf(11) + f.AlnumOf(35));
        b.Fp("notion-integration-token", "NOTION_TOKEN=ntn_" + f.DigitsOf(11) + "\n");

        b.Tp("airtable-pat", "AIRTABLE_TOKEN={T}\n", "pat" + f.AlnumOf(14) + "." + f.HexOf(64));
        b.Fp("airtable-pat", "const pattern = /path\\.to\\.file/;\n");

        b.Tp("figma-pat", "FIGMA_TOKEN={T}\n", "figd_" + f.B64UrlOf(39) + "u");
        b.Fp("figma-pat", "FIGMA_TOKEN=figd_" + f.AlnumOf(12) + "\n");

        b.Tp("algolia-admin-key", "ALGOLIA_ADMIN_KEY={T}\n", f.HexOf(32));
        b.Fp("algolia-admin-key", "ALGOLIA_APP_ID=" + f.Chars(FakeTokens.UpperAlnum, 10) + "\n");

        b.Tp("contentful-pat", "CONTENTFUL_MANAGEMENT_TOKEN={T}\n", "CFPAT-" + f.B64UrlOf(42) + "r");
        b.Fp("contentful-pat", "CONTENTFUL_MANAGEMENT_TOKEN=CFPAT-" + f.AlnumOf(20) + "\n");

        b.Tp("postman-api-key", "POSTMAN_API_KEY={T}\n", "PMAK-" + f.HexOf(24) + "-" + f.HexOf(34));
        b.Fp("postman-api-key", "POSTMAN_API_KEY=PMAK-" + f.HexOf(24) + "\n");

        b.Tp("hubspot-private-app-token", "HUBSPOT_TOKEN={T}\n", "pat-na1-" + f.Uuid());
        b.Fp("hubspot-private-app-token", "HUBSPOT_PORTAL_ID=" + f.DigitsOf(8) + "\n");

        b.Tp("salesforce-access-token", "SF_ACCESS_TOKEN={T}\n", "00D" + f.AlnumOf(15) + "!AQ" + f.Chars(FakeTokens.Alnum + "._", 96));
        b.Fp("salesforce-access-token", "SF_ORG_ID=00D" + f.AlnumOf(15) + "\n");

        b.Tp("twitter-bearer-token", "TWITTER_BEARER_TOKEN={T}\n", new string('A', 22) + f.AlnumOf(30) + "%3D" + f.AlnumOf(50));
        b.Fp("twitter-bearer-token", "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAAAAAAAAAAAAAAAAAAAAAAA" + f.AlnumOf(60) + "\">");

        b.Tp("facebook-access-token", "FB_ACCESS_TOKEN={T}\n", "EAAG" + f.AlnumOf(180));
        b.Fp("facebook-access-token", "FB_ACCESS_TOKEN=EAAG" + f.AlnumOf(40) + "\n");

        b.Tp("facebook-app-secret", "FACEBOOK_APP_SECRET={T}\n", f.HexOf(32));
        b.Fp("facebook-app-secret", "FACEBOOK_APP_ID=" + f.DigitsOf(15) + "\n");

        b.Tp("asana-pat", "ASANA_ACCESS_TOKEN={T}\n", "2/" + f.DigitsOf(16) + "/" + f.DigitsOf(16) + ":" + f.HexOf(32));
        b.Fp("asana-pat", "Asana tasks done: 1/2\n");

        b.Tp("mapbox-secret-token", "MAPBOX_SECRET_TOKEN={T}\n", "sk.eyJ" + f.B64UrlOf(80) + "." + f.B64UrlOf(21) + "g");
        b.Fp("mapbox-secret-token", "MAPBOX_PUBLIC_TOKEN=pk.eyJ" + f.B64UrlOf(80) + "." + f.B64UrlOf(22) + "\n");

        b.Tp("launchdarkly-sdk-key", "LAUNCHDARKLY_SDK_KEY={T}\n", "sdk-" + f.Uuid());
        b.Fp("launchdarkly-sdk-key", "LAUNCHDARKLY_MOBILE_KEY=mob-" + f.Uuid() + "\n");

        b.Tp("prefect-api-key", "PREFECT_API_KEY={T}\n", "pnu_" + f.AlnumOf(36));
        b.Fp("prefect-api-key", "PREFECT_API_KEY=pnu_" + f.AlnumOf(10) + "\n");

        b.Tp("readme-api-key", "README_API_KEY={T}\n", "rdme_" + f.Chars(FakeTokens.LowerAlnum, 70));
        b.Fp("readme-api-key", "README_API_KEY=rdme_" + f.Chars(FakeTokens.LowerAlnum, 20) + "\n");

        b.Tp("frameio-api-token", "FRAMEIO_TOKEN={T}\n", "fio-u-" + f.B64UrlOf(63) + "y");
        b.Fp("frameio-api-token", "FRAMEIO_TOKEN=fio-u-" + f.AlnumOf(20) + "\n");
    }

    private static void Generic(Builder b)
    {
        var f = FakeTokens.For("generic");
        b.Tp("generic-api-key", "const apiKey = \"{T}\";\n", f.AlnumOf(23) + "7");
        b.Tp("generic-api-key", "{\n  \"client_secret\": \"{T}\",\n  \"redirect_uri\": \"https://app.fake.test/cb\"\n}", f.AlnumOf(31) + "2");
        b.Fp("generic-api-key", "const apiKey = process.env.API_KEY;\n");
        b.Fp("generic-api-key", "tokenizer = \"bert-base-uncased-vocab\"\n");
        b.Fp("generic-api-key", "apiKey: \"your_api_key_here\"\n");
        b.Fp("generic-api-key", "private const string TokenCacheKey = \"auth-token-cache-v2\";\n\"apiKeyHeader\": \"X-Goog-Api-Key\",\n");
        b.Fp("generic-api-key", "partition_key = \"tenant#2024-11#region\"\ntokens = [\"xoxb\", \"ghp_\"]\n");
        b.Fp("generic-api-key", "<File Type=\"Managed\" Path=\"ref/net10.0/System.Core.dll\" AssemblyName=\"System.Core\" PublicKeyToken=\"" + f.HexOf(16) + "\" />\n");
        b.Fp("generic-api-key", "const traceToken = \"" + f.HexOf(24) + "\";\n");

        b.Tp("generic-password", "db_password = \"{T}\"\n", f.AlnumOf(10) + "#" + f.DigitsOf(3));
        b.Fp("generic-password", "password: \"${DB_PASSWORD}\"\n");
        b.Fp("generic-password", "PASSWORD_MIN_LENGTH = 12\n");

        b.Tp("generic-env-assignment", "APP_ENV=production\nINTERNAL_SERVICE_TOKEN={T}\nLOG_LEVEL=info\n", f.AlnumOf(31) + "5");
        b.Fp("generic-env-assignment", "API_KEY=\nTOKEN_TTL_SECONDS=3600\nSECRET_NAME=prod-db-credentials\n");
        b.Fp("generic-env-assignment", "JWT_SECRET_FILE=/run/secrets/jwt_secret_v2\nAPI_KEY_ID=" + f.AlnumOf(20) + "\n");

        b.Tp("generic-yaml-secret", "spec:\n  webhookSecret: {T}\n  replicas: 2\n", f.AlnumOf(19) + "3");
        b.Fp("generic-yaml-secret", "spec:\n  secretName: app-tls\n  tokenTtl: 3600\n");
        b.Fp("generic-yaml-secret", "      - uses: actions/cache@v4\n        with:\n          key: node-20-modules-v3\n");
        b.Fp("generic-yaml-secret", "primary_key: customer_order_id_2024\nforeign_key: fk_orders_customers_01\n");
        b.Fp("generic-yaml-secret", "signing_key_id: kid-2024-10-rotation\n");
        b.Fp("generic-yaml-secret", "secret_version: projects/123/secrets/db/versions/7\n");
        b.Fp("generic-yaml-secret", "idempotency_key: " + f.Uuid() + "\n");

        b.Tp("generic-cli-secret-flag", "fake-deploy push --token {T} --env prod\n", f.AlnumOf(29) + "8");
        b.Fp("generic-cli-secret-flag", "fake-deploy push --token-file ./token.txt --env prod\n");

        b.Tp("generic-url-query-secret", "GET https://api.fake.test/v2/items?limit=10&api_key={T} HTTP/1.1\n", f.AlnumOf(31) + "4");
        b.Fp("generic-url-query-secret", "fetch(`https://api.fake.test/v2/items?token=${token}`)\n");
    }

    private sealed class Builder
    {
        public List<RuleExample> Positives { get; } = [];

        public List<RuleExample> Negatives { get; } = [];

        public void Tp(string ruleId, string template, string secret)
        {
            var at = template.IndexOf(Placeholder, StringComparison.Ordinal);
            if (at < 0 || secret.Length == 0)
            {
                throw new InvalidOperationException($"Example for '{ruleId}' has no {Placeholder} or an empty secret.");
            }

            var text = new StringBuilder(template.Length + secret.Length)
                .Append(template, 0, at)
                .Append(secret)
                .Append(template, at + Placeholder.Length, template.Length - at - Placeholder.Length)
                .ToString();
            Positives.Add(new RuleExample(ruleId, text, at, secret.Length));
        }

        public void Fp(string ruleId, string text) => Negatives.Add(new RuleExample(ruleId, text, -1, 0));
    }
}

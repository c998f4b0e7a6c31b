using System.Net;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.FunctionalTests.Admin;

/// <summary>The admin HTTP API on a real Kestrel and a real SQLite trail: roles, filters, paging, export, verify, and its own records.</summary>
public sealed class AdminApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_auditor_lists_the_trail_with_the_cli_filters_and_pages_through_it()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (auditor, auditorRecord) = await harness.IssueKeyAsync("grace", KeyRole.Auditor);
        for (var i = 0; i < 5; i++)
        {
            using var ok = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming(), sessionId: "s-" + (i % 2)));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }
        using (var refused = await harness.Client.SendAsync(GatewayHarness.Post("/v1/messages", "{}"u8.ToArray(), apiKey: null)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        await harness.AuditAsync(6);

        var session = await GetJsonAsync(harness, auditor, "/admin/v1/audit/records?session=s-1&user=ada");
        var sessionRecords = session.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(2, sessionRecords.Count);
        Assert.All(sessionRecords, r => Assert.Equal("s-1", r.GetProperty("session_id").GetString()));
        Assert.All(sessionRecords, r => Assert.Equal("ada", r.GetProperty("user").GetString()));

        var rejected = await GetJsonAsync(harness, auditor, "/admin/v1/audit/records?outcome=rejected&kind=request");
        Assert.Equal("rejected", Assert.Single(rejected.GetProperty("records").EnumerateArray()).GetProperty("outcome").GetString());

        var none = await GetJsonAsync(harness, auditor, "/admin/v1/audit/records?since=2099-01-01T00:00Z");
        Assert.Empty(none.GetProperty("records").EnumerateArray());
        var recent = await GetJsonAsync(harness, auditor, "/admin/v1/audit/records?since=1h&kind=request&upstream=main");
        Assert.Equal(5, recent.GetProperty("records").GetArrayLength());

        // Paging, newest first: pages of 2 walk the whole model-call trail without overlap.
        var seen = new List<long>();
        var path = "/admin/v1/audit/records?kind=request&outcome=ok&limit=2";
        while (true)
        {
            var page = await GetJsonAsync(harness, auditor, path);
            seen.AddRange(page.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("chain").GetProperty("sequence").GetInt64()));
            if (page.GetProperty("next_to_seq").ValueKind == JsonValueKind.Null)
            {
                break;
            }
            path = $"/admin/v1/audit/records?kind=request&outcome=ok&limit=2&to_seq={page.GetProperty("next_to_seq").GetInt64()}";
        }
        Assert.Equal(5, seen.Count);
        Assert.Equal(seen.OrderByDescending(s => s), seen);

        // Every call above is itself in the trail: who read, which route, which filter.
        var reads = (await harness.AuditAsync(6)).Where(r => r.Kind == AuditKind.Admin).ToList();
        Assert.True(reads.Count >= 7, $"expected an admin record per call, found {reads.Count}");
        var first = reads[0];
        Assert.Equal("audit.list", first.Operation);
        Assert.Equal("admin", first.Door);
        Assert.Equal(auditorRecord.Id, first.KeyId);
        Assert.Equal("grace", first.User);
        Assert.Equal(200, first.Status);
        Assert.Equal("GET /admin/v1/audit/records?user=ada&session=s-1", first.Detail);
        Assert.Equal("audit.list", first.Operation);
        Assert.Null(first.Tool);
    }

    [Fact]
    public async Task Developers_get_403_everywhere_auditors_get_403_on_writes_and_every_refusal_is_recorded()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (auditor, _) = await harness.IssueKeyAsync("grace", KeyRole.Auditor);
        var (admin, _) = await harness.IssueKeyAsync("root", KeyRole.Admin);

        foreach (var (method, path) in new[] { ("GET", "/admin/v1/audit/records"), ("GET", "/admin/v1/audit/verify"), ("GET", "/admin/v1/keys"), ("POST", "/admin/v1/audit/checkpoint") })
        {
            await AssertErrorAsync(harness, method, path, harness.DeveloperKey, HttpStatusCode.Forbidden, "permission_error");
        }
        await AssertErrorAsync(harness, "GET", "/admin/v1/audit/records", null, HttpStatusCode.Unauthorized, "authentication_error");
        await AssertErrorAsync(harness, "GET", "/admin/v1/audit/records", "alk_not-a-key", HttpStatusCode.Unauthorized, "authentication_error");
        await AssertErrorAsync(harness, "POST", "/admin/v1/audit/checkpoint", auditor, HttpStatusCode.Forbidden, "permission_error");
        await AssertErrorAsync(harness, "GET", "/admin/v1/keys", auditor, HttpStatusCode.Forbidden, "permission_error");
        await AssertErrorAsync(harness, "POST", $"/admin/v1/keys/{harness.DeveloperKeyRecord.Id}/revoke", auditor, HttpStatusCode.Forbidden, "permission_error");
        await AssertErrorAsync(harness, "GET", "/admin/v1/audit/records?usr=ada", auditor, HttpStatusCode.BadRequest, "invalid_request_error", "unknown parameter 'usr'");
        await AssertErrorAsync(harness, "GET", "/admin/v1/audit/records?outcome=great", auditor, HttpStatusCode.BadRequest, "invalid_request_error", "outcome");
        await AssertErrorAsync(harness, "GET", "/admin/v1/audit/records?limit=100000", auditor, HttpStatusCode.BadRequest, "invalid_request_error", "limit");
        await AssertErrorAsync(harness, "GET", "/admin/v1/audit/records/no-such-id", auditor, HttpStatusCode.NotFound, "not_found_error");
        await AssertErrorAsync(harness, "GET", "/admin/v1/nothing-here", admin, HttpStatusCode.NotFound, "not_found_error");

        // The developer key still works for models: the auditor key was refused, nothing changed.
        using (var ok = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // An admin may write: revoke the developer key, then it stops working at once.
        using (var revoke = await SendAsync(harness, "POST", $"/admin/v1/keys/{harness.DeveloperKeyRecord.Id}/revoke", admin))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }
        using (var gone = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, gone.StatusCode);
        }

        var admins = (await harness.AuditAsync(17)).Where(r => r.Kind == AuditKind.Admin).ToList();
        Assert.Equal(15, admins.Count);
        Assert.Equal(4, admins.Count(r => r.User == GatewayHarness.DeveloperUser && r.Status == 403 && r.ErrorType == "auth_forbidden"));
        Assert.Equal(2, admins.Count(r => r.User is null && r.Status == 401 && r.Outcome == AuditOutcome.Rejected));
        Assert.Contains(admins, r => r.ErrorType == "invalid_parameters" && r.Detail == "GET /admin/v1/audit/records?usr=ada");
        var revoked = Assert.Single(admins, r => r.Operation == "keys.revoke" && r.Status == 200);
        Assert.Equal("root", revoked.User);
        // Keys never reach the trail, in any form.
        await harness.AssertNotStoredAsync(auditor);
        await harness.AssertNotStoredAsync(admin);
    }

    [Fact]
    public async Task Export_streams_a_verifiable_file_verify_reports_the_chain_and_show_returns_one_record()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var (auditor, _) = await harness.IssueKeyAsync("grace", KeyRole.Auditor);
        var (admin, _) = await harness.IssueKeyAsync("root", KeyRole.Admin);
        string requestId;
        using (var ok = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            requestId = ok.Headers.GetValues("x-airlock-request-id").Single();
        }
        for (var i = 0; i < 20; i++)
        {
            using var more = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming()));
        }
        await harness.AuditAsync(21);
        using (var checkpoint = await SendAsync(harness, "POST", "/admin/v1/audit/checkpoint", admin))
        {
            Assert.Equal(HttpStatusCode.OK, checkpoint.StatusCode);
            using var body = JsonDocument.Parse(await checkpoint.Content.ReadAsStringAsync());
            Assert.True(body.RootElement.GetProperty("checkpoint").GetProperty("sequence").GetInt64() >= 21);
        }

        var shown = await GetJsonAsync(harness, auditor, "/admin/v1/audit/records/" + requestId);
        Assert.Equal(requestId, Assert.Single(shown.GetProperty("records").EnumerateArray()).GetProperty("request_id").GetString());

        using var key = await GetJsonDocumentAsync(harness, auditor, "/admin/v1/audit/public-key");
        var publicKey = AuditPublicKey.Parse(key.RootElement.GetProperty("public_key_pem").GetString()!);

        foreach (var format in new[] { "jsonl", "csv" })
        {
            using var export = await SendAsync(harness, "GET", "/admin/v1/audit/export?format=" + format, auditor);
            Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            Assert.Null(export.Content.Headers.ContentLength); // streamed (chunked), not buffered
            var text = await export.Content.ReadAsStringAsync();
            var verification = await AuditExport.VerifyAsync(new StringReader(text), publicKey);
            Assert.True(verification.Intact, verification.Fault?.ToString());
            Assert.True(verification.Records >= 22, $"{format}: {verification.Records} records");
            Assert.True(verification.Checkpoints >= 1);
        }
        using (var filtered = await SendAsync(harness, "GET", "/admin/v1/audit/export?kind=admin&format=jsonl", auditor))
        {
            var records = await ReadExportAsync(await filtered.Content.ReadAsStringAsync());
            Assert.NotEmpty(records);
            Assert.All(records, r => Assert.Equal(AuditKind.Admin, r.Kind));
        }

        var verify = await GetJsonAsync(harness, auditor, "/admin/v1/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean());
        Assert.True(verify.GetProperty("signatures_checked").GetBoolean());
        Assert.True(verify.GetProperty("records").GetInt64() >= 22);
        Assert.Equal(JsonValueKind.Null, verify.GetProperty("fault").ValueKind);

        // Tamper with one model-call record behind the gateway's back: verify over the API names it.
        await harness.Gateway.Audit.FlushAsync();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(harness.DataDir, "airlock.db")}"))
        {
            await connection.OpenAsync();
            using var update = connection.CreateCommand();
            update.CommandText = "UPDATE audit_records SET user_name = 'mallory' WHERE seq = 5";
            Assert.Equal(1, await update.ExecuteNonQueryAsync());
        }
        var tampered = await GetJsonAsync(harness, auditor, "/admin/v1/audit/verify");
        Assert.False(tampered.GetProperty("intact").GetBoolean());
        Assert.Equal(5, tampered.GetProperty("fault").GetProperty("seq").GetInt64());
    }

    private static async Task<List<AuditRecord>> ReadExportAsync(string text)
    {
        var records = new List<AuditRecord>();
        await foreach (var record in AuditExport.ReadRecordsAsync(new StringReader(text)))
        {
            records.Add(record);
        }
        return records;
    }

    private static async Task AssertErrorAsync(GatewayHarness harness, string method, string path, string? key, HttpStatusCode status, string type, string? message = null)
    {
        using var response = await SendAsync(harness, method, path, key);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(type, body.RootElement.GetProperty("error").GetProperty("type").GetString());
        if (message is not null)
        {
            Assert.Contains(message, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.StartsWith("adm_", response.Headers.GetValues("x-airlock-request-id").Single(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> SendAsync(GatewayHarness harness, string method, string path, string? key)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (key is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }
        return harness.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task<JsonElement> GetJsonAsync(GatewayHarness harness, string key, string path)
    {
        using var document = await GetJsonDocumentAsync(harness, key, path);
        return document.RootElement.Clone();
    }

    private static async Task<JsonDocument> GetJsonDocumentAsync(GatewayHarness harness, string key, string path)
    {
        using var response = await SendAsync(harness, "GET", path, key);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text);
    }
}

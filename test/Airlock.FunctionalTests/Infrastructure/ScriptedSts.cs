using System.Globalization;
using Airlock.Protocols.Aws.Signing;
using Microsoft.AspNetCore.Http;

namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>
/// STS <c>AssumeRoleWithWebIdentity</c> as AWS answers it (Query API, version 2011-06-15, unsigned): checks the action,
/// version, role and token and that a session name is given, then hands out <c>issued</c>; otherwise the XML error
/// STS sends (<c>InvalidIdentityToken</c>). Every request is recorded as <c>METHOD PATH Action RoleArn RoleSessionName</c>.
/// </summary>
internal static class ScriptedSts
{
    public static async Task AnswerAsync(HttpContext context, string roleArn, string webIdentityToken, AwsCredentials issued, ICollection<string> asked)
    {
        var form = await context.Request.ReadFormAsync();
        lock (asked)
        {
            asked.Add($"{context.Request.Method} {context.Request.Path} {form["Action"]} {form["RoleArn"]} {form["RoleSessionName"]}");
        }
        context.Response.ContentType = "text/xml";
        if (form["Action"] != "AssumeRoleWithWebIdentity" || form["Version"] != "2011-06-15" || form["RoleArn"] != roleArn
            || form["WebIdentityToken"] != webIdentityToken || string.IsNullOrEmpty(form["RoleSessionName"]))
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsync("""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>refused by the scripted STS</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>""");
            return;
        }
        var expires = (issued.Expiration ?? DateTimeOffset.UtcNow.AddHours(1)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        await context.Response.WriteAsync($"""
            <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleWithWebIdentityResult>
                <SubjectFromWebIdentityToken>system:serviceaccount:airlock:gateway</SubjectFromWebIdentityToken>
                <Audience>sts.amazonaws.com</Audience>
                <AssumedRoleUser>
                  <Arn>{roleArn.Replace(":iam::", ":sts::", StringComparison.Ordinal).Replace(":role/", ":assumed-role/", StringComparison.Ordinal)}/{form["RoleSessionName"]}</Arn>
                  <AssumedRoleId>AROAEXAMPLEROLEID:{form["RoleSessionName"]}</AssumedRoleId>
                </AssumedRoleUser>
                <Credentials>
                  <SessionToken>{issued.SessionToken}</SessionToken>
                  <SecretAccessKey>{issued.SecretAccessKey}</SecretAccessKey>
                  <Expiration>{expires}</Expiration>
                  <AccessKeyId>{issued.AccessKeyId}</AccessKeyId>
                </Credentials>
                <Provider>oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>
              </AssumeRoleWithWebIdentityResult>
              <ResponseMetadata><RequestId>11111111-1111-1111-1111-111111111111</RequestId></ResponseMetadata>
            </AssumeRoleWithWebIdentityResponse>
            """);
    }
}

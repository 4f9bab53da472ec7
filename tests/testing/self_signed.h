// A throwaway self-signed certificate for localhost / 127.0.0.1 (EC P-256, valid for an hour),
// made with OpenSSL, for tests of servers and clients behind TLS with a private CA: the
// certificate is its own CA. Link OpenSSL::Crypto.
//
//   cmig::testing::CertAndKey ck = cmig::testing::MakeSelfSigned();
//   WriteFile(dir + "/cert.pem", ck.cert_pem);   // the server's certificate and the client's CA
#ifndef CMIG_TESTS_TESTING_SELF_SIGNED_H_
#define CMIG_TESTS_TESTING_SELF_SIGNED_H_

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

namespace cmig::testing {

struct CertAndKey {
  std::string cert_pem, key_pem;
};

inline CertAndKey MakeSelfSigned() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, key, EVP_sha256());
  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string s(data, n);
    BIO_free(bio);
    return s;
  };
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  CertAndKey out{to_string(cert_bio), to_string(key_bio)};
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace cmig::testing

#endif  // CMIG_TESTS_TESTING_SELF_SIGNED_H_
